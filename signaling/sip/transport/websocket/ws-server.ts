/**
 * SIP over WebSocket connections (RFC 7118), server side only: browsers
 * have no listening address, so the node never opens a WebSocket; every
 * message to a client goes over the connection it opened (RFC 7118 §5). One
 * SIP message per WebSocket message, text or binary (§5). Connections are
 * keyed by the remote address:port, like TCP ones.
 *
 * Bounded: connections (handshakes in progress included, so slow upgrades
 * cannot exhaust sockets), the upgrade head (bytes and time), frame and
 * message size (the SIP message limit), bytes queued for writing, and idle
 * time (a ping after `pingIntervalMs` without input; closed after
 * `idleTimeoutMs` without any, pongs included).
 */
import { isUtf8 } from 'node:buffer';
import { readFileSync } from 'node:fs';
import { createServer as createTcpServer, isIPv6, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { MeshError } from '../../../../regions/core/errors.js';
import type { Endpoint } from '../../message/types.js';
import { addressKey } from '../endpoint.js';
import { CLOSE_CODE, OPCODE, WsFrameParser, WsProtocolError, encodeClose, encodeFrame, type WsEvent } from './frames.js';
import { answerUpgrade, cannotBeHttp, endOfHead, HandshakeError, parseUpgradeHead, refusalResponse } from './handshake.js';

export interface WsOptions {
  /** Listening port (0: any free one). Default 5066. */
  port?: number;
  /** Serve `wss` with this certificate and key (PEM files); plain `ws` without. */
  tls?: { certFile: string; keyFile: string };
  /** Most connections, upgrades in progress included. Default 1024. */
  maxConnections?: number;
  /** Time allowed from TCP accept to a complete upgrade request. Default 5000 ms. */
  handshakeTimeoutMs?: number;
  /** Largest upgrade request head. Default 8192 bytes. */
  maxHandshakeBytes?: number;
  /** A ping is sent after this long without input. Default 30000 ms. */
  pingIntervalMs?: number;
  /** A connection with no input (pongs included) for this long is closed. Default 90000 ms. */
  idleTimeoutMs?: number;
  /** Most bytes queued for writing on one connection before it is dropped as stuck. Default 1 MiB. */
  maxWriteBufferBytes?: number;
}

/** What the SIP layer may know about a connection. */
export interface WsConnectionInfo {
  readonly endpoint: Endpoint;
  /** `access_token` from the upgrade URL's query (RFC 8898 leaves browsers no header), if any. */
  readonly token: string | undefined;
}

export type WsRefusal = 'limit' | 'handshake' | 'timeout';

export interface WsEvents {
  onMessage(buf: Buffer, source: Endpoint): void;
  /** The peer broke the protocol or sent a message over the limit (`closeCode` 1009): the connection is failed. */
  onProtocolError(source: Endpoint, e: WsProtocolError): void;
  onOpened(info: WsConnectionInfo): void;
  onClosed(info: WsConnectionInfo): void;
  onRefused(why: WsRefusal): void;
}

interface Connection {
  readonly socket: Socket;
  readonly info: WsConnectionInfo;
  readonly parser: WsFrameParser;
  lastInputAt: number;
  pinged: boolean;
  closing: boolean;
}

/** How long a closing handshake may take before the socket is destroyed (§7.1.1). */
const CLOSE_GRACE_MS = 1000;

export class WsServer {
  readonly transport: 'WS' | 'WSS';
  private readonly conns = new Map<string, Connection>();
  /** Sockets still in their upgrade. */
  private readonly upgrading = new Set<Socket>();
  /** Refused or closing sockets given a moment to flush their answer; destroyed by close(). */
  private readonly lingering = new Set<Socket>();
  private readonly sweep: NodeJS.Timeout;
  private closed = false;
  private closing: Promise<void> | undefined;
  readonly maxConnections: number;
  private readonly handshakeTimeoutMs: number;
  private readonly maxHandshakeBytes: number;
  private readonly pingIntervalMs: number;
  private readonly idleTimeoutMs: number;
  private readonly maxWriteBufferBytes: number;

  private constructor(
    private readonly server: Server,
    readonly address: string,
    readonly port: number,
    secure: boolean,
    private readonly maxMessageBytes: number,
    private readonly events: WsEvents,
    opts: WsOptions,
  ) {
    this.transport = secure ? 'WSS' : 'WS';
    this.maxConnections = opts.maxConnections ?? 1024;
    this.handshakeTimeoutMs = opts.handshakeTimeoutMs ?? 5000;
    this.maxHandshakeBytes = opts.maxHandshakeBytes ?? 8192;
    this.pingIntervalMs = opts.pingIntervalMs ?? 30000;
    this.idleTimeoutMs = opts.idleTimeoutMs ?? 90000;
    this.maxWriteBufferBytes = opts.maxWriteBufferBytes ?? 1024 * 1024;
    const tick = Math.max(20, Math.min(5000, Math.floor(Math.min(this.pingIntervalMs, this.idleTimeoutMs) / 4)));
    this.sweep = setInterval(() => this.checkIdle(), tick);
    this.sweep.unref();
  }

  /**
   * Listen on `address:port`. Certificate files are read here, so a bad path fails the start
   * with a message naming the file. Rejects with MeshError TRANSPORT_ERROR or CONFIG_INVALID.
   */
  static async listen(address: string, maxMessageBytes: number, events: WsEvents, opts: WsOptions = {}): Promise<WsServer> {
    let server: Server;
    if (opts.tls !== undefined) {
      let cert: Buffer;
      let key: Buffer;
      try {
        cert = readFileSync(opts.tls.certFile);
        key = readFileSync(opts.tls.keyFile);
      } catch (e) {
        throw new MeshError('CONFIG_INVALID', `cannot read the WebSocket TLS certificate or key: ${(e as Error).message}`, { cause: e });
      }
      try {
        server = createTlsServer({ cert, key });
      } catch (e) {
        throw new MeshError('CONFIG_INVALID', `bad WebSocket TLS certificate or key: ${(e as Error).message}`, { cause: e });
      }
    } else {
      server = createTcpServer();
    }
    let ws: WsServer | undefined;
    // TLS: the socket is handed over once the TLS handshake completed; bounded by the same limits.
    server.on(opts.tls !== undefined ? 'secureConnection' : 'connection', (socket: Socket) => ws?.accept(socket));
    server.on('tlsClientError', () => ws?.events.onRefused('handshake'));
    server.on('error', () => undefined);
    const port = opts.port ?? 5066;
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ host: address, port, exclusive: true }, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (e) {
      server.close();
      throw new MeshError('TRANSPORT_ERROR', `cannot listen for SIP over WebSocket on ${address}:${port}`, { cause: e });
    }
    const addr = server.address();
    const bound = addr !== null && typeof addr === 'object' ? addr.port : port;
    ws = new WsServer(server, address, bound, opts.tls !== undefined, maxMessageBytes, events, opts);
    return ws;
  }

  /** Open connections (upgrades in progress not counted). */
  get size(): number {
    return this.conns.size;
  }

  get upgradesInProgress(): number {
    return this.upgrading.size;
  }

  info(address: string, port: number): WsConnectionInfo | undefined {
    const c = this.conns.get(addressKey(address, port));
    return c === undefined || c.closing ? undefined : c.info;
  }

  has(address: string, port: number): boolean {
    return this.info(address, port) !== undefined;
  }

  /** One SIP message as one text frame (RFC 7118 §5: SIP text is UTF-8 unless the body is not). */
  send(address: string, port: number, buf: Buffer, onError: (e: Error) => void): void {
    if (this.closed) return onError(new MeshError('CLOSED', 'WebSocket transport closed'));
    const key = addressKey(address, port);
    const conn = this.conns.get(key);
    if (conn === undefined || conn.closing || conn.socket.destroyed) {
      // RFC 7118 §5: a WebSocket client can be reached only over the connection it opened.
      return onError(new MeshError('TRANSPORT_ERROR', `no open WebSocket connection from ${key}`, { detail: { remote: key } }));
    }
    const frame = encodeFrame(isUtf8Text(buf) ? OPCODE.text : OPCODE.binary, buf, false);
    if (conn.socket.writableLength + frame.length > this.maxWriteBufferBytes) {
      const e = new MeshError('TRANSPORT_ERROR', 'WebSocket write buffer full', { detail: { remote: key } });
      conn.socket.destroy(e);
      return onError(e);
    }
    conn.socket.write(frame, (err) => {
      if (err) onError(err);
    });
  }

  /** Close a connection with a close frame (§7.1.2); used when its registration is refused for good, and on shutdown. */
  disconnect(address: string, port: number, code: number = CLOSE_CODE.normal, reason = ''): void {
    const conn = this.conns.get(addressKey(address, port));
    if (conn !== undefined) this.fail(conn, code, reason);
  }

  private accept(socket: Socket): void {
    socket.on('error', () => undefined);
    const address = socket.remoteAddress;
    const port = socket.remotePort;
    if (this.closed || address === undefined || port === undefined || this.conns.size + this.upgrading.size >= this.maxConnections) {
      this.events.onRefused('limit');
      // An answer the client can read, then the socket goes: no state is kept for it.
      this.endGracefully(socket, refusalResponse(503, 'too many WebSocket connections', [['Retry-After', '5']]));
      return;
    }
    this.upgrading.add(socket);
    let head: Buffer = Buffer.alloc(0);
    const timer = setTimeout(() => {
      this.events.onRefused('timeout');
      refuse(408, 'WebSocket upgrade not completed in time');
    }, this.handshakeTimeoutMs);
    timer.unref();
    const done = (): void => {
      clearTimeout(timer);
      this.upgrading.delete(socket);
      socket.off('data', onData);
    };
    const refuse = (status: number, reason: string, headers: [string, string][] = []): void => {
      done();
      this.endGracefully(socket, refusalResponse(status, reason, headers));
    };
    const onData = (chunk: Buffer): void => {
      head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
      if (cannotBeHttp(head)) {
        this.events.onRefused('handshake');
        return refuse(400, 'not an HTTP request');
      }
      const end = endOfHead(head);
      if (end < 0) {
        if (head.length > this.maxHandshakeBytes) {
          this.events.onRefused('handshake');
          refuse(431, `upgrade request over ${this.maxHandshakeBytes} bytes`);
        }
        return;
      }
      if (end > this.maxHandshakeBytes) {
        this.events.onRefused('handshake');
        return refuse(431, `upgrade request over ${this.maxHandshakeBytes} bytes`);
      }
      let answer;
      try {
        answer = answerUpgrade(parseUpgradeHead(head.subarray(0, end)));
      } catch (e) {
        this.events.onRefused('handshake');
        return refuse(e instanceof HandshakeError ? e.status : 400, e instanceof HandshakeError ? e.reason : 'malformed upgrade request');
      }
      if (!answer.ok) {
        this.events.onRefused('handshake');
        return refuse(answer.status, answer.reason, answer.headers);
      }
      done();
      if (this.closed) return void socket.destroy();
      socket.write(answer.response);
      this.open(socket, { transport: this.transport, address, port }, answer.token, head.subarray(end));
    };
    socket.on('data', onData);
    socket.once('close', () => {
      if (this.upgrading.has(socket)) done();
    });
  }

  private open(socket: Socket, endpoint: Endpoint, token: string | undefined, rest: Buffer): void {
    const key = addressKey(endpoint.address, endpoint.port);
    const stale = this.conns.get(key);
    if (stale !== undefined) this.fail(stale, CLOSE_CODE.goingAway, 'replaced');
    const conn: Connection = {
      socket,
      info: { endpoint, token },
      parser: new WsFrameParser({ maxFrameBytes: this.maxMessageBytes, maxMessageBytes: this.maxMessageBytes }, true),
      lastInputAt: Date.now(),
      pinged: false,
      closing: false,
    };
    this.conns.set(key, conn);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.input(conn, chunk));
    socket.once('close', () => {
      if (this.conns.get(key) === conn) this.conns.delete(key);
      conn.closing = true;
      this.events.onClosed(conn.info);
    });
    this.events.onOpened(conn.info);
    if (rest.length > 0) this.input(conn, rest);
  }

  private input(conn: Connection, chunk: Buffer): void {
    if (conn.closing) return;
    conn.lastInputAt = Date.now();
    conn.pinged = false;
    let events: WsEvent[];
    try {
      events = conn.parser.push(chunk);
    } catch (e) {
      const err = e instanceof WsProtocolError ? e : new WsProtocolError(CLOSE_CODE.protocolError, 'unreadable frame');
      this.events.onProtocolError(conn.info.endpoint, err);
      this.fail(conn, err.closeCode, err.message);
      return;
    }
    for (const ev of events) {
      if (conn.closing) return;
      switch (ev.kind) {
        case 'message':
          this.events.onMessage(ev.data, conn.info.endpoint);
          break;
        case 'ping':
          conn.socket.write(encodeFrame(OPCODE.pong, ev.data, false));
          break;
        case 'pong':
          break;
        case 'close':
          // §5.5.1: answer with a close frame (echoing the code), then the server closes the TCP connection (§7.1.1).
          this.fail(conn, ev.code ?? CLOSE_CODE.normal, '');
          break;
      }
    }
  }

  /** Send a close frame and end the connection; destroyed after a grace period. Idempotent per connection. */
  private fail(conn: Connection, code: number, reason: string): void {
    if (conn.closing) return;
    conn.closing = true;
    const key = addressKey(conn.info.endpoint.address, conn.info.endpoint.port);
    if (this.conns.get(key) === conn) this.conns.delete(key);
    if (!conn.socket.destroyed) this.endGracefully(conn.socket, encodeClose(code, reason, false));
  }

  /** Write the last bytes and end; destroyed after a grace period if the peer does not close. */
  private endGracefully(socket: Socket, last: Buffer | string): void {
    this.lingering.add(socket);
    socket.once('close', () => this.lingering.delete(socket));
    socket.end(last);
    setTimeout(() => socket.destroy(), CLOSE_GRACE_MS).unref();
  }

  private checkIdle(): void {
    const now = Date.now();
    for (const conn of [...this.conns.values()]) {
      const quiet = now - conn.lastInputAt;
      if (quiet >= this.idleTimeoutMs) {
        this.fail(conn, CLOSE_CODE.goingAway, 'idle');
        conn.socket.destroy();
      } else if (quiet >= this.pingIntervalMs && !conn.pinged) {
        conn.pinged = true;
        conn.socket.write(encodeFrame(OPCODE.ping, Buffer.alloc(0), false));
      }
    }
  }

  /** Close every connection (1001 going away) and stop listening. Idempotent. */
  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.closed = true;
    clearInterval(this.sweep);
    for (const s of this.upgrading) s.destroy();
    this.upgrading.clear();
    for (const s of this.lingering) s.destroy();
    this.lingering.clear();
    for (const conn of [...this.conns.values()]) {
      // A going-away close frame, flushed as far as the socket allows, then the socket goes.
      if (!conn.socket.destroyed) conn.socket.end(encodeClose(CLOSE_CODE.goingAway, 'shutting down', false));
      conn.closing = true;
      conn.socket.destroy();
    }
    this.conns.clear();
    this.closing = new Promise<void>((resolve) => this.server.close(() => resolve()));
    return this.closing;
  }

  /** Host for Via sent-by / Contact. */
  get sentByHost(): string {
    return isIPv6(this.address) ? `[${this.address}]` : this.address;
  }
}

/** Text frames must be UTF-8 (RFC 6455 §5.6); a SIP message with a binary body goes as a binary frame (RFC 7118 §5). */
function isUtf8Text(buf: Buffer): boolean {
  return isUtf8(buf);
}
