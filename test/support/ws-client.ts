/**
 * A small WebSocket client for tests (RFC 6455, client side), written here
 * because Node 20 has no global WebSocket and the project carries no `ws`
 * package. It uses the signaling side's frame codec with masking on, binds
 * a chosen local address, and can also send raw bytes so tests can break the
 * protocol on purpose. Every wait is bounded.
 */
import { randomBytes } from 'node:crypto';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { CLOSE_CODE, OPCODE, WsFrameParser, encodeClose, encodeFrame } from '../../signaling/sip/transport/websocket/frames.js';
import { websocketAccept } from '../../signaling/sip/transport/websocket/handshake.js';

export interface WsClientOptions {
  host: string;
  port: number;
  /** Local address to bind (a test's own loopback block). */
  localAddress?: string;
  /** Request target. Default `/`. */
  path?: string;
  /** Offered subprotocols. Default ['sip']. */
  protocols?: string[];
  /** wss: TLS without certificate checks (test certificates are self-signed). */
  tls?: boolean;
  timeoutMs?: number;
}

export interface WsClient {
  readonly localAddress: string;
  readonly localPort: number;
  /** Subprotocol the server chose. */
  readonly protocol: string | undefined;
  /** Every data message received, in order. */
  readonly messages: { data: Buffer; binary: boolean }[];
  /** Pings received (the client answers each with a pong unless `answerPings` is false). */
  pings: number;
  answerPings: boolean;
  /** Resolves when the TCP connection is closed, with the close frame's code if one came. */
  readonly closed: Promise<{ code: number | undefined; reason: string }>;
  readonly isClosed: boolean;
  send(data: string | Buffer, binary?: boolean): void;
  /** Bytes as they are: broken frames on purpose. */
  sendRaw(bytes: Buffer): void;
  /** Close handshake (code 1000 by default). */
  close(code?: number): Promise<void>;
  /** Drop the TCP connection without a close frame. */
  destroy(): void;
}

export interface HttpAnswer {
  status: number;
  headers: Map<string, string>;
  body: string;
}

function openSocket(o: WsClientOptions): Socket {
  const common = { host: o.host, port: o.port, ...(o.localAddress !== undefined ? { localAddress: o.localAddress } : {}) };
  return o.tls === true ? tlsConnect({ ...common, rejectUnauthorized: false }) : netConnect(common);
}

function upgradeRequest(o: WsClientOptions, key: string): string {
  const protocols = o.protocols ?? ['sip'];
  return [
    `GET ${o.path ?? '/'} HTTP/1.1`,
    `Host: ${o.host}:${o.port}`,
    'Upgrade: websocket',
    'Connection: Upgrade',
    `Sec-WebSocket-Key: ${key}`,
    'Sec-WebSocket-Version: 13',
    ...(protocols.length > 0 ? [`Sec-WebSocket-Protocol: ${protocols.join(', ')}`] : []),
    '',
    '',
  ].join('\r\n');
}

function parseHttpHead(text: string): HttpAnswer {
  const [head = '', body = ''] = text.split('\r\n\r\n', 2);
  const lines = head.split('\r\n');
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(lines[0] ?? '')?.[1] ?? 0);
  const headers = new Map<string, string>();
  for (const l of lines.slice(1)) {
    const i = l.indexOf(':');
    if (i > 0) headers.set(l.slice(0, i).trim().toLowerCase(), l.slice(i + 1).trim());
  }
  return { status, headers, body };
}

/**
 * Send `bytes` as an upgrade request (or anything) and read the HTTP answer until the server
 * closes or `timeoutMs` passes. For refusal tests.
 */
export function rawHttp(o: WsClientOptions, bytes: string | Buffer): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const sock = openSocket(o);
    let got = Buffer.alloc(0);
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no complete HTTP answer within ${o.timeoutMs ?? 2000} ms`));
    }, o.timeoutMs ?? 2000);
    sock.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    sock.on('data', (c: Buffer) => {
      got = Buffer.concat([got, c]);
    });
    sock.on('close', () => {
      clearTimeout(timer);
      resolve(parseHttpHead(got.toString('utf8')));
    });
    sock.once(o.tls === true ? 'secureConnect' : 'connect', () => sock.write(bytes));
  });
}

/** Upgrade with the options given; rejects with the server's HTTP answer when it refuses. */
export function connectWs(o: WsClientOptions): Promise<WsClient> {
  const key = randomBytes(16).toString('base64');
  return new Promise((resolve, reject) => {
    const sock = openSocket(o);
    let head = Buffer.alloc(0);
    let upgraded = false;
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`WebSocket upgrade to ${o.host}:${o.port} not answered within ${o.timeoutMs ?? 2000} ms`));
    }, o.timeoutMs ?? 2000);
    sock.on('error', (e) => {
      if (!upgraded) {
        clearTimeout(timer);
        reject(e);
      }
    });
    sock.once(o.tls === true ? 'secureConnect' : 'connect', () => sock.write(upgradeRequest(o, key)));
    const onHead = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      clearTimeout(timer);
      sock.off('data', onHead);
      const answer = parseHttpHead(head.toString('utf8'));
      if (answer.status !== 101) {
        sock.destroy();
        reject(Object.assign(new Error(`upgrade refused with ${answer.status}`), { answer }));
        return;
      }
      if (answer.headers.get('sec-websocket-accept') !== websocketAccept(key)) {
        sock.destroy();
        reject(new Error('bad Sec-WebSocket-Accept'));
        return;
      }
      upgraded = true;
      resolve(client(sock, answer.headers.get('sec-websocket-protocol'), head.subarray(end + 4)));
    };
    sock.on('data', onHead);
  });
}

function client(sock: Socket, protocol: string | undefined, rest: Buffer): WsClient {
  const parser = new WsFrameParser({ maxFrameBytes: 1 << 20, maxMessageBytes: 1 << 20 }, false);
  const messages: { data: Buffer; binary: boolean }[] = [];
  let closeFrame: { code: number | undefined; reason: string } | undefined;
  let isClosed = false;
  const closed = new Promise<{ code: number | undefined; reason: string }>((resolve) => {
    sock.on('close', () => {
      isClosed = true;
      resolve(closeFrame ?? { code: undefined, reason: '' });
    });
  });
  const c: WsClient = {
    localAddress: sock.localAddress ?? '',
    localPort: sock.localPort ?? 0,
    protocol,
    messages,
    pings: 0,
    answerPings: true,
    closed,
    get isClosed() {
      return isClosed;
    },
    send(data, binary = false) {
      const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
      sock.write(encodeFrame(binary ? OPCODE.binary : OPCODE.text, buf, true));
    },
    sendRaw(bytes) {
      sock.write(bytes);
    },
    async close(code = CLOSE_CODE.normal) {
      if (!isClosed) sock.write(encodeClose(code, '', true));
      const t = setTimeout(() => sock.destroy(), 2000);
      await closed;
      clearTimeout(t);
    },
    destroy() {
      sock.destroy();
    },
  };
  const onData = (chunk: Buffer): void => {
    let events;
    try {
      events = parser.push(chunk);
    } catch {
      sock.destroy();
      return;
    }
    for (const ev of events) {
      if (ev.kind === 'message') messages.push({ data: ev.data, binary: ev.binary });
      else if (ev.kind === 'ping') {
        c.pings++;
        if (c.answerPings) sock.write(encodeFrame(OPCODE.pong, ev.data, true));
      } else if (ev.kind === 'close') {
        closeFrame = { code: ev.code, reason: ev.reason };
        sock.end();
      }
    }
  };
  sock.on('error', () => undefined);
  sock.on('data', onData);
  if (rest.length > 0) onData(rest);
  return c;
}
