/**
 * TCP connections for SIP (RFC 3261 §18): accepted ones and ones we open,
 * all in one map keyed by the remote address:port. Responses go back on the
 * connection their request came on (§18.2.2); requests to an endpoint reuse
 * an open connection to it. Every connection is bounded (count, buffered
 * bytes, idle time) and every socket error is handled.
 */
import { connect, type Socket } from 'node:net';
import { MeshError } from '../../../regions/core/errors.js';
import { SipStreamFramer } from '../message/index.js';
import type { Endpoint, SipLimits } from '../message/types.js';
import { addressKey } from './endpoint.js';

export interface TcpOptions {
  /** Most open connections (accepted + opened). Default 1024. */
  maxConnections?: number;
  /** Time allowed to establish an outgoing connection. Default 5000 ms. */
  connectTimeoutMs?: number;
  /** A connection with no traffic either way for this long is closed. Default 120000 ms. */
  idleTimeoutMs?: number;
  /** Most bytes queued for writing on one connection before it is dropped as stuck. Default 1 MiB. */
  maxWriteBufferBytes?: number;
}

export interface TcpEvents {
  onMessage(buf: Buffer, source: Endpoint): void;
  /** Bytes on a connection that could not be framed: the connection is closed. */
  onFramingError(source: Endpoint, e: unknown): void;
  onConnectionCountChanged(n: number): void;
  onRejected(): void;
}

interface Connection {
  readonly socket: Socket;
  readonly remote: Endpoint;
  readonly framer: SipStreamFramer;
  isConnected: boolean;
  /** Send failures to report if the connection dies before it is established. */
  pendingErrors: ((e: Error) => void)[];
}

export class TcpConnections {
  private readonly conns = new Map<string, Connection>();
  private readonly maxConnections: number;
  private readonly connectTimeoutMs: number;
  private readonly idleTimeoutMs: number;
  private readonly maxWriteBufferBytes: number;
  private closed = false;

  constructor(
    private readonly localAddress: string,
    private readonly limits: SipLimits,
    private readonly events: TcpEvents,
    opts: TcpOptions = {},
  ) {
    this.maxConnections = opts.maxConnections ?? 1024;
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 5000;
    this.idleTimeoutMs = opts.idleTimeoutMs ?? 120000;
    this.maxWriteBufferBytes = opts.maxWriteBufferBytes ?? 1024 * 1024;
  }

  get size(): number {
    return this.conns.size;
  }

  has(address: string, port: number): boolean {
    return this.conns.get(addressKey(address, port))?.socket.destroyed === false;
  }

  /** A connection accepted by our server socket. */
  accept(socket: Socket): void {
    const address = socket.remoteAddress;
    const port = socket.remotePort;
    if (this.closed || address === undefined || port === undefined || this.conns.size >= this.maxConnections) {
      this.events.onRejected();
      socket.on('error', () => undefined);
      socket.destroy();
      return;
    }
    const key = addressKey(address, port);
    this.conns.get(key)?.socket.destroy(); // a stale entry for a reused port
    this.track(key, socket, { transport: 'TCP', address, port }, true);
  }

  /**
   * Write `buf` to `address:port`, reusing an open connection or opening one.
   * Failures (connect refused or timed out, write errors, overflow) go to onError.
   */
  send(address: string, port: number, buf: Buffer, onErrorOnce: (e: Error) => void): void {
    // Both the write callback and the pending-connect list may report one failure.
    let reported = false;
    const onError = (e: Error): void => {
      if (reported) return;
      reported = true;
      onErrorOnce(e);
    };
    if (this.closed) {
      onError(new MeshError('CLOSED', 'TCP transport closed'));
      return;
    }
    const key = addressKey(address, port);
    let conn = this.conns.get(key);
    if (conn === undefined || conn.socket.destroyed) {
      if (this.conns.size >= this.maxConnections) {
        this.events.onRejected();
        onError(new MeshError('TRANSPORT_ERROR', 'too many TCP connections', { detail: { limit: this.maxConnections } }));
        return;
      }
      try {
        conn = this.open(key, address, port);
      } catch (e) {
        // net.connect throws synchronously on an impossible destination (port out of range):
        // report it like any other send failure, as UDP does, never to the caller's stack.
        onError(new MeshError('TRANSPORT_ERROR', `cannot connect to ${key}: ${(e as Error).message}`, { cause: e }));
        return;
      }
    }
    if (conn.socket.writableLength + buf.length > this.maxWriteBufferBytes) {
      const e = new MeshError('TRANSPORT_ERROR', 'TCP write buffer full', { detail: { remote: key } });
      conn.socket.destroy(e);
      onError(e);
      return;
    }
    if (!conn.isConnected) conn.pendingErrors.push(onError);
    conn.socket.write(buf, (err) => {
      if (err) onError(err);
    });
  }

  private open(key: string, address: string, port: number): Connection {
    // Bind the local side to our address so the peer sees the address our Via announces.
    const socket = connect({ host: address, port, localAddress: this.localAddress });
    const conn = this.track(key, socket, { transport: 'TCP', address, port }, false);
    const timer = setTimeout(() => {
      socket.destroy(new MeshError('TRANSPORT_ERROR', `TCP connect to ${key} timed out`));
    }, this.connectTimeoutMs);
    timer.unref();
    socket.once('connect', () => {
      clearTimeout(timer);
      conn.isConnected = true;
      conn.pendingErrors = [];
    });
    socket.once('close', () => clearTimeout(timer));
    return conn;
  }

  private track(key: string, socket: Socket, remote: Endpoint, isConnected: boolean): Connection {
    const conn: Connection = { socket, remote, framer: new SipStreamFramer(this.limits), isConnected, pendingErrors: [] };
    this.conns.set(key, conn);
    this.events.onConnectionCountChanged(this.conns.size);
    socket.setNoDelay(true);
    socket.setTimeout(this.idleTimeoutMs);
    socket.on('timeout', () => socket.destroy());
    let lastError: Error | undefined;
    socket.on('error', (e) => {
      lastError = e;
    });
    socket.on('data', (chunk: Buffer) => {
      let messages: Buffer[];
      try {
        messages = conn.framer.push(chunk);
      } catch (e) {
        // A stream that cannot be framed cannot be resynchronised: drop the connection.
        this.events.onFramingError(remote, e);
        socket.destroy();
        return;
      }
      for (const m of messages) this.events.onMessage(m, remote);
    });
    socket.on('close', () => {
      if (this.conns.get(key) === conn) {
        this.conns.delete(key);
        this.events.onConnectionCountChanged(this.conns.size);
      }
      const pending = conn.pendingErrors;
      conn.pendingErrors = [];
      if (pending.length > 0) {
        const e = lastError ?? new MeshError('TRANSPORT_ERROR', `TCP connection to ${key} closed`);
        for (const cb of pending) cb(e);
      }
    });
    return conn;
  }

  /** Destroy every connection. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const c of [...this.conns.values()]) c.socket.destroy();
    this.conns.clear();
    this.events.onConnectionCountChanged(0);
  }
}
