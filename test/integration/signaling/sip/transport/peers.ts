/**
 * Raw SIP peers for the transport contract: a UDP socket, or a TCP server
 * plus the connections it opens and accepts, on one loopback address. They
 * speak bytes, not the stack's types, so the suite checks exactly what goes
 * over the wire. Every wait is bounded and every socket is closed by close().
 */
import { createSocket } from 'node:dgram';
import { connect, createServer, type Socket } from 'node:net';
import { MeshError } from '../../../../../regions/core/errors.js';
import { SipStreamFramer } from '../../../../../signaling/sip/message/index.js';
import { DEFAULT_SIP_LIMITS } from '../../../../../signaling/sip/message/types.js';
import type { TransportName } from '../../../../../signaling/sip/transport/types.js';

export interface Address {
  address: string;
  port: number;
}

/** One message the peer received, and the local port of the socket it came in on. */
export interface Received {
  bytes: Buffer;
  text: string;
  /** Remote address:port it came from. */
  from: Address;
}

export interface RawPeer {
  readonly transport: TransportName;
  /** Where the peer listens: its Via sent-by, where a request or a new connection reaches it. */
  readonly listening: Address;
  /** Every message received (framed on TCP), in order. */
  readonly received: Received[];
  /**
   * Send bytes to `to`. UDP: one datagram from the listening socket. TCP: on
   * the peer's own connection to `to`, opened on first use and reused while open.
   * Resolves with the local address:port the bytes left from (what the other side sees as source).
   */
  send(bytes: Buffer | string, to: Address): Promise<Address>;
  /** Answer `msg` the way it came: UDP to its source, TCP on the connection it arrived on. */
  reply(msg: Received, bytes: Buffer | string): Promise<void>;
  /** Close every socket. Idempotent. */
  close(): Promise<void>;
}

const CONNECT_TIMEOUT_MS = 2000;

export async function udpPeer(address: string): Promise<RawPeer> {
  const sock = createSocket('udp4');
  const received: Received[] = [];
  sock.on('message', (bytes, rinfo) => received.push({ bytes, text: bytes.toString('latin1'), from: { address: rinfo.address, port: rinfo.port } }));
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(0, address, () => {
      sock.off('error', reject);
      resolve();
    });
  });
  // ICMP port-unreachable after a send surfaces here: for a probe it only means "no answer".
  sock.on('error', () => undefined);
  const listening = { address, port: sock.address().port };
  const sendTo = (bytes: Buffer | string, to: Address): Promise<void> =>
    new Promise((resolve, reject) => sock.send(bytes, to.port, to.address, (err) => (err ? reject(err) : resolve())));
  let closing: Promise<void> | undefined;
  return {
    transport: 'UDP',
    listening,
    received,
    async send(bytes, to) {
      await sendTo(bytes, to);
      return listening;
    },
    reply: (msg, bytes) => sendTo(bytes, msg.from),
    close() {
      closing ??= new Promise<void>((resolve) => sock.close(() => resolve()));
      return closing;
    },
  };
}

export interface TcpRawPeer extends RawPeer {
  /** Close the connections this peer opened (not the ones it accepted); resolves once they are closed. */
  closeOutgoing(): Promise<void>;
  /** Open connections, accepted and opened. */
  readonly connectionCount: number;
}

/** Largest message a TCP peer frames: above one UDP datagram, so TCP-only sizes can be received. */
const PEER_MAX_MESSAGE_BYTES = 1024 * 1024;

export async function tcpPeer(address: string): Promise<TcpRawPeer> {
  const received: Received[] = [];
  const sockets = new Set<Socket>();
  const outgoing = new Map<string, Socket>();
  /** Which socket each received message came on, for reply(). */
  const cameOn = new WeakMap<Received, Socket>();
  const track = (sock: Socket): void => {
    sockets.add(sock);
    const framer = new SipStreamFramer({ ...DEFAULT_SIP_LIMITS, maxMessageBytes: PEER_MAX_MESSAGE_BYTES });
    sock.on('error', () => undefined);
    sock.on('close', () => sockets.delete(sock));
    sock.on('data', (chunk: Buffer) => {
      let messages: Buffer[];
      try {
        messages = framer.push(chunk);
      } catch {
        sock.destroy();
        return;
      }
      for (const bytes of messages) {
        const r: Received = { bytes, text: bytes.toString('latin1'), from: { address: sock.remoteAddress ?? '', port: sock.remotePort ?? 0 } };
        cameOn.set(r, sock);
        received.push(r);
      }
    });
  };
  const server = createServer((sock) => track(sock));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, address, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new MeshError('INTERNAL', 'TCP peer has no address');
  const listening = { address, port: addr.port };
  const write = (sock: Socket, bytes: Buffer | string): Promise<void> =>
    new Promise((resolve, reject) => sock.write(bytes, (err) => (err ? reject(err) : resolve())));
  const open = (to: Address): Promise<Socket> =>
    new Promise((resolve, reject) => {
      const sock = connect({ host: to.address, port: to.port, localAddress: address });
      const timer = setTimeout(() => {
        sock.destroy();
        reject(new MeshError('REQUEST_TIMEOUT', `TCP connect to ${to.address}:${to.port} timed out`));
      }, CONNECT_TIMEOUT_MS);
      sock.once('error', (e) => {
        clearTimeout(timer);
        reject(new MeshError('TRANSPORT_ERROR', `TCP connect to ${to.address}:${to.port} failed`, { cause: e }));
      });
      sock.once('connect', () => {
        clearTimeout(timer);
        track(sock);
        resolve(sock);
      });
    });
  let closing: Promise<void> | undefined;
  return {
    transport: 'TCP',
    listening,
    received,
    async send(bytes, to) {
      const key = `${to.address}:${to.port}`;
      let sock = outgoing.get(key);
      if (sock === undefined || sock.destroyed || !sock.writable) {
        sock = await open(to);
        outgoing.set(key, sock);
      }
      await write(sock, bytes);
      return { address: sock.localAddress ?? address, port: sock.localPort ?? 0 };
    },
    get connectionCount() {
      return sockets.size;
    },
    async closeOutgoing() {
      const open = [...outgoing.values()].filter((s) => !s.destroyed);
      outgoing.clear();
      await Promise.all(open.map((s) => new Promise<void>((resolve) => {
        s.once('close', () => resolve());
        s.destroy();
      })));
    },
    async reply(msg, bytes) {
      const sock = cameOn.get(msg);
      if (sock === undefined) throw new MeshError('BAD_REQUEST', 'not a message this peer received');
      await write(sock, bytes);
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      });
      return closing;
    },
  };
}

/** Resolves once `cond()` holds; rejects after `ms`. */
export async function until(cond: () => boolean, ms = 2000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new MeshError('REQUEST_TIMEOUT', `${what} not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** `p`, or a REQUEST_TIMEOUT rejection after `ms`: a close() that never ends fails the test instead of hanging it. */
export async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new MeshError('REQUEST_TIMEOUT', `${what} did not finish within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** How long a close() may take on loopback. */
export const CLOSE_WITHIN_MS = 2000;

/** Wait `ms` (to show that something does NOT happen). */
export const settle = (ms = 150): Promise<void> => new Promise((r) => setTimeout(r, ms));
