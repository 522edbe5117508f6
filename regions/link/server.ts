/**
 * The listening end of region links. Each accepted connection becomes a
 * LinkSession once the peer's hello arrives; a session can also send requests
 * and events back to its peer. The server never queues for a peer that is
 * gone: reconnecting (and queueing meanwhile) is the dialling side's job.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { MeshError } from '../core/errors.js';
import { encodeEnvelope } from '../proto/codec.js';
import type { Envelope, EnvelopeBody, EnvelopeBodyInput, LinkHello } from '../proto/types.js';
import { definedOnly } from './client.js';
import { LinkConnection } from './connection.js';
import { encodeFrame } from './framing.js';
import { PendingRequests } from './pending.js';
import { TypedEmitter } from './typed-emitter.js';
import { CONNECTION_DEFAULTS, type ConnectionOptions, type RegionLinkServerOptions } from './types.js';

export class LinkSession {
  readonly peer: LinkHello;
  private readonly connection: LinkConnection;
  private readonly pending: PendingRequests;
  private readonly maxFrameBytes: number;

  constructor(connection: LinkConnection, peer: LinkHello, pending: PendingRequests, maxFrameBytes: number) {
    this.connection = connection;
    this.peer = peer;
    this.pending = pending;
    this.maxFrameBytes = maxFrameBytes;
  }

  get isOpen(): boolean {
    return this.connection.isOpen;
  }

  request(body: EnvelopeBodyInput, opts: { timeoutMs: number }): Promise<EnvelopeBody> {
    try {
      if (!this.connection.isOpen) throw new MeshError('TRANSPORT_ERROR', `region link session with ${this.peer.nodeId} is closed`);
      const requestId = randomUUID();
      const frame = encodeFrame(encodeEnvelope({ kind: 'REQUEST', requestId, body }, { maxBytes: this.maxFrameBytes }));
      const p = this.pending.add(requestId, opts.timeoutMs, this.connection.id, `region link request ${body.type} to ${this.peer.nodeId}`);
      try {
        this.connection.write(frame);
      } catch (e) {
        this.pending.reject(requestId, e as MeshError);
      }
      return p;
    } catch (e) {
      return Promise.reject(e);
    }
  }

  send(body: EnvelopeBodyInput): void {
    this.connection.sendEnvelope({ kind: 'EVENT', body });
  }

  close(reason: MeshError = new MeshError('CLOSED', 'region link session closed')): void {
    this.connection.close(reason);
  }
}

export type RegionLinkServerEvents = {
  connected: [session: LinkSession];
  disconnected: [session: LinkSession, reason: MeshError];
  event: [body: EnvelopeBody, session: LinkSession, envelope: Envelope];
};

export class RegionLinkServer extends TypedEmitter<RegionLinkServerEvents> {
  private readonly opts: RegionLinkServerOptions;
  private readonly conn: Required<ConnectionOptions>;
  private readonly server: Server;
  private readonly connections = new Set<LinkConnection>();
  private readonly live = new Set<LinkSession>();
  private closing: Promise<void> | undefined;

  constructor(opts: RegionLinkServerOptions) {
    super();
    this.opts = opts;
    this.conn = { ...CONNECTION_DEFAULTS, ...definedOnly(opts) };
    this.server = createServer((socket) => this.accept(socket));
    this.server.maxConnections = opts.maxConnections ?? 64;
  }

  /** Bind and listen; resolves with the bound address (port 0 → a free port). */
  listen(): Promise<{ address: string; port: number }> {
    return new Promise((resolve, reject) => {
      const onError = (e: Error): void => reject(new MeshError('TRANSPORT_ERROR', `region link server cannot listen: ${e.message}`, { cause: e }));
      this.server.once('error', onError);
      this.server.listen(this.opts.port, this.opts.host, () => {
        this.server.off('error', onError);
        const a = this.server.address() as AddressInfo;
        resolve({ address: a.address, port: a.port });
      });
    });
  }

  sessions(): LinkSession[] {
    return [...this.live];
  }

  /** Stop listening, drop every session (their pending requests reject with CLOSED). Idempotent. */
  close(): Promise<void> {
    if (this.closing !== undefined) return this.closing;
    const err = new MeshError('CLOSED', 'region link server closed');
    this.closing = new Promise<void>((resolve) => {
      for (const c of [...this.connections]) c.close(err);
      if (!this.server.listening) return resolve();
      this.server.close(() => resolve());
    }).then(() => this.removeAllListeners());
    return this.closing;
  }

  private accept(socket: Socket): void {
    if (this.closing !== undefined) {
      socket.destroy();
      return;
    }
    const pending = new PendingRequests(this.conn.maxPendingRequests);
    let session: LinkSession | undefined;
    const c = new LinkConnection(socket, this.opts, this.conn, {
      onRequest: this.opts.onRequest,
      onReply: (env) => pending.settle(env),
      onEvent: (body, env) => {
        if (session !== undefined) this.emit('event', body, session, env);
      },
    });
    this.connections.add(c);
    // A peer that connects but never says hello is dropped.
    const helloTimer = setTimeout(
      () => c.close(new MeshError('UPSTREAM_TIMEOUT', 'region link peer sent no hello')),
      this.conn.handshakeTimeoutMs,
    );
    c.once('hello', (peer) => {
      clearTimeout(helloTimer);
      session = new LinkSession(c, peer, pending, this.conn.maxFrameBytes);
      this.live.add(session);
      this.emit('connected', session);
    });
    c.once('closed', (reason) => {
      clearTimeout(helloTimer);
      this.connections.delete(c);
      pending.rejectAll(
        reason.code === 'CLOSED' ? reason : new MeshError('TRANSPORT_ERROR', `region link lost before reply: ${reason.message}`, { cause: reason }),
      );
      if (session !== undefined) {
        this.live.delete(session);
        this.emit('disconnected', session, reason);
      }
    });
    c.start();
  }
}
