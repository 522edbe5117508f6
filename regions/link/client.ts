/**
 * The dialling end of a region link: keeps one connection to a peer region's
 * node up, reconnecting with bounded exponential backoff and jitter.
 *
 * While the link is down, messages marked `queueWhileDown` wait in a bounded
 * queue and go out first, in order, once the link is back; every other send
 * fails fast with MeshError('TRANSPORT_ERROR'). A request sent on a connection
 * that then dies is rejected (TRANSPORT_ERROR): whether the peer acted on it is
 * unknown, so it is not silently resent.
 */
import { randomUUID } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { MeshError } from '../core/errors.js';
import { encodeEnvelope } from '../proto/codec.js';
import type { Envelope, EnvelopeBody, EnvelopeBodyInput, LinkHello } from '../proto/types.js';
import { LinkConnection } from './connection.js';
import { encodeFrame } from './framing.js';
import { PendingRequests } from './pending.js';
import { Reconnector } from './reconnect.js';
import { SendQueue } from './send-queue.js';
import { TypedEmitter } from './typed-emitter.js';
import { CONNECTION_DEFAULTS, type ConnectionOptions, type RegionLinkClientOptions, type RequestOptions, type SendOptions } from './types.js';

export type RegionLinkClientEvents = {
  connected: [peer: LinkHello];
  disconnected: [reason: MeshError];
  /** A one-way message (EVENT) from the peer. */
  event: [body: EnvelopeBody, envelope: Envelope];
  /** A connection attempt failed; the next is in `nextDelayMs`. */
  reconnectFailed: [error: unknown, attempt: number, nextDelayMs: number];
};

export class RegionLinkClient extends TypedEmitter<RegionLinkClientEvents> {
  private readonly opts: RegionLinkClientOptions;
  private readonly conn: Required<ConnectionOptions>;
  private readonly pending: PendingRequests;
  private readonly queue: SendQueue;
  private readonly reconnector: Reconnector;
  private current: LinkConnection | undefined;
  private upSince = 0;
  private closed = false;
  private connecting: Socket | undefined;

  constructor(opts: RegionLinkClientOptions) {
    super();
    this.opts = opts;
    this.conn = { ...CONNECTION_DEFAULTS, ...definedOnly(opts) };
    this.pending = new PendingRequests(this.conn.maxPendingRequests);
    this.queue = new SendQueue(opts.queue);
    this.pending.onTimeout = (id) => this.queue.removeRequest(id);
    this.reconnector = new Reconnector({
      connect: () => this.connectOnce(),
      ...(opts.backoff === undefined ? {} : { backoff: opts.backoff }),
      onAttemptFailed: (e, attempt, delay) => this.emit('reconnectFailed', e, attempt, delay),
    });
  }

  /** Start connecting (in the background; retries until close()). */
  start(): this {
    this.reconnector.start();
    return this;
  }

  get isConnected(): boolean {
    return this.current !== undefined;
  }

  /** The peer's hello while connected. */
  get peer(): LinkHello | undefined {
    return this.current?.peer;
  }

  get queuedMessages(): number {
    return this.queue.size;
  }

  get pendingRequests(): number {
    return this.pending.size;
  }

  /** Resolves once connected (now or later); rejects after timeoutMs or on close. */
  waitConnected(timeoutMs: number): Promise<void> {
    if (this.current !== undefined) return Promise.resolve();
    if (this.closed) return Promise.reject(new MeshError('CLOSED', 'region link client closed'));
    return new Promise((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        this.off('connected', done);
        resolve();
      };
      const timer = setTimeout(() => {
        this.off('connected', done);
        reject(new MeshError('UPSTREAM_TIMEOUT', `region link to ${this.opts.host}:${this.opts.port} not up within ${timeoutMs} ms`));
      }, timeoutMs);
      this.on('connected', done);
    });
  }

  /** Send a REQUEST and wait for its REPLY (an ErrorReply rejects with its MeshError code). */
  request(body: EnvelopeBodyInput, opts: RequestOptions): Promise<EnvelopeBody> {
    try {
      if (this.closed) throw new MeshError('CLOSED', 'region link client closed');
      const requestId = randomUUID();
      const frame = encodeFrame(encodeEnvelope({ kind: 'REQUEST', requestId, body }, { maxBytes: this.conn.maxFrameBytes }));
      const what = `region link request ${body.type} to ${this.opts.host}:${this.opts.port}`;
      const c = this.current;
      if (c !== undefined) {
        const p = this.pending.add(requestId, opts.timeoutMs, c.id, what);
        try {
          c.write(frame);
        } catch (e) {
          this.pending.reject(requestId, e as MeshError);
        }
        return p;
      }
      if (opts.queueWhileDown !== true) throw this.downError();
      const p = this.pending.add(requestId, opts.timeoutMs, undefined, what);
      try {
        this.queue.push({ frame, requestId });
      } catch (e) {
        this.pending.reject(requestId, e as MeshError);
      }
      return p;
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** Send a one-way EVENT. Throws MeshError when it can be neither sent nor queued. */
  send(body: EnvelopeBodyInput, opts: SendOptions = {}): void {
    if (this.closed) throw new MeshError('CLOSED', 'region link client closed');
    const frame = encodeFrame(encodeEnvelope({ kind: 'EVENT', body }, { maxBytes: this.conn.maxFrameBytes }));
    const c = this.current;
    if (c !== undefined) {
      c.write(frame);
      return;
    }
    if (opts.queueWhileDown !== true) throw this.downError();
    this.queue.push({ frame });
  }

  /** Stop reconnecting, drop the connection, reject everything pending with CLOSED. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.reconnector.close();
    this.connecting?.destroy();
    const err = new MeshError('CLOSED', 'region link client closed');
    this.queue.drain();
    this.pending.rejectAll(err);
    const c = this.current;
    this.current = undefined;
    c?.close(err);
    this.removeAllListeners();
  }

  private downError(): MeshError {
    return new MeshError('TRANSPORT_ERROR', `region link to ${this.opts.host}:${this.opts.port} is down`, {
      detail: { host: this.opts.host, port: this.opts.port },
    });
  }

  /** One attempt: TCP connect + hello exchange, bounded by handshakeTimeoutMs. */
  private connectOnce(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.closed) return reject(new MeshError('CLOSED', 'region link client closed'));
      const socket = connect({
        host: this.opts.host,
        port: this.opts.port,
        ...(this.opts.localAddress === undefined ? {} : { localAddress: this.opts.localAddress }),
      });
      this.connecting = socket;
      let conn: LinkConnection | undefined;
      const fail = (e: MeshError): void => {
        clearTimeout(timer);
        this.connecting = undefined;
        if (conn !== undefined) conn.close(e);
        else socket.destroy();
        reject(e);
      };
      const timer = setTimeout(
        () => fail(new MeshError('UPSTREAM_TIMEOUT', `region link handshake with ${this.opts.host}:${this.opts.port} timed out`)),
        this.conn.handshakeTimeoutMs,
      );
      socket.once('error', (e) => fail(new MeshError('TRANSPORT_ERROR', `region link connect failed: ${e.message}`, { cause: e })));
      socket.once('connect', () => {
        socket.removeAllListeners('error');
        const c = new LinkConnection(socket, this.opts, this.conn, {
          onRequest: this.opts.onRequest,
          onReply: (env) => this.pending.settle(env),
          onEvent: (body, env) => this.emit('event', body, env),
        });
        conn = c;
        const onEarlyClose = (reason: MeshError): void => fail(reason);
        c.once('closed', onEarlyClose);
        c.once('hello', (peer) => {
          clearTimeout(timer);
          this.connecting = undefined;
          c.off('closed', onEarlyClose);
          if (this.closed) {
            c.close(new MeshError('CLOSED', 'region link client closed'));
            return reject(new MeshError('CLOSED', 'region link client closed'));
          }
          this.onUp(c, peer);
          resolve();
        });
        c.start();
      });
    });
  }

  private onUp(c: LinkConnection, peer: LinkHello): void {
    this.current = c;
    this.upSince = Date.now();
    c.once('closed', (reason) => this.onDown(c, reason));
    // Flush what waited, oldest first, before anything new can be written.
    for (const item of this.queue.drain()) {
      if (item.requestId !== undefined && !this.pending.has(item.requestId)) continue; // timed out meanwhile
      try {
        c.write(item.frame);
        if (item.requestId !== undefined) this.pending.markSent(item.requestId, c.id);
      } catch (e) {
        if (item.requestId !== undefined) this.pending.reject(item.requestId, e as MeshError);
      }
    }
    this.emit('connected', peer);
  }

  private onDown(c: LinkConnection, reason: MeshError): void {
    if (this.current === c) this.current = undefined;
    this.pending.rejectSentOn(c.id, new MeshError('TRANSPORT_ERROR', `region link lost before reply: ${reason.message}`, { cause: reason }));
    if (this.closed) return;
    this.emit('disconnected', reason);
    this.reconnector.disconnected(Date.now() - this.upSince);
  }
}

/** Only the connection options actually given (undefined must not override a default). */
export function definedOnly(o: ConnectionOptions): Partial<Required<ConnectionOptions>> {
  const out: Record<string, number> = {};
  for (const k of Object.keys(CONNECTION_DEFAULTS) as (keyof ConnectionOptions)[]) {
    const v = o[k];
    if (v !== undefined) out[k] = v;
  }
  return out as Partial<Required<ConnectionOptions>>;
}
