/**
 * One live TCP connection of a region link, either side: framing, the hello
 * exchange, heartbeats and dead-peer detection, and dispatch of incoming
 * envelopes. It does not reconnect and holds no pending requests: the client
 * and server sessions own those, so requests can outlive one connection.
 */
import type { Socket } from 'node:net';
import { MeshError, isMeshError } from '../core/errors.js';
import { decodeEnvelope, encodeEnvelope } from '../proto/codec.js';
import type { Envelope, EnvelopeBody, EnvelopeBodyInput, EnvelopeInput, LinkHello } from '../proto/types.js';
import { FrameDecoder, encodeFrame } from './framing.js';
import { TypedEmitter } from './typed-emitter.js';
import { LINK_PROTOCOL_VERSION, type ConnectionOptions, type LinkIdentity, type RequestHandler } from './types.js';

let nextConnectionId = 1;

export interface ConnectionHandlers {
  onRequest: RequestHandler | undefined;
  onReply: (envelope: Envelope) => void;
  onEvent: (body: EnvelopeBody, envelope: Envelope) => void;
}

export type ConnectionEvents = {
  /** The peer introduced itself: the connection is usable. */
  hello: [peer: LinkHello];
  /** Gone, for good; fired once. */
  closed: [reason: MeshError];
};

export class LinkConnection extends TypedEmitter<ConnectionEvents> {
  readonly id = nextConnectionId++;
  peer: LinkHello | undefined;
  /** Frames that decoded to nothing usable and were dropped. */
  droppedFrames = 0;
  private readonly socket: Socket;
  private readonly identity: LinkIdentity;
  private readonly opts: Required<ConnectionOptions>;
  private readonly handlers: ConnectionHandlers;
  private readonly decoder: FrameDecoder;
  private tick: NodeJS.Timeout | undefined;
  private lastReceivedAt = Date.now();
  private lastHeartbeatAt = 0;
  private heartbeatSeq = 0;
  private incoming = 0;
  private closedReason: MeshError | undefined;

  constructor(socket: Socket, identity: LinkIdentity, opts: Required<ConnectionOptions>, handlers: ConnectionHandlers) {
    super();
    this.socket = socket;
    this.identity = identity;
    this.opts = opts;
    this.handlers = handlers;
    this.decoder = new FrameDecoder(opts.maxFrameBytes);
  }

  get isOpen(): boolean {
    return this.closedReason === undefined;
  }

  /** Hook the socket, say hello, start heartbeats. */
  start(): void {
    const s = this.socket;
    // Mesh messages are small and latency-sensitive: no Nagle batching.
    s.setNoDelay(true);
    s.setKeepAlive(true, 10_000);
    s.on('data', (chunk: Buffer) => this.onData(chunk));
    s.on('error', (e) => this.close(new MeshError('TRANSPORT_ERROR', `region link socket error: ${e.message}`, { cause: e })));
    s.on('close', () => this.close(new MeshError('TRANSPORT_ERROR', 'region link closed by peer')));
    const tickMs = Math.max(10, Math.min(this.opts.heartbeatIntervalMs, Math.floor(this.opts.deadPeerTimeoutMs / 4)));
    this.tick = setInterval(() => this.onTick(), tickMs);
    this.tick.unref?.();
    this.lastReceivedAt = Date.now();
    this.sendEnvelope({
      kind: 'EVENT',
      body: { type: 'linkHello', value: { region: this.identity.region, nodeId: this.identity.nodeId, protocolVersion: LINK_PROTOCOL_VERSION } },
    });
  }

  /**
   * Write one already-framed envelope. Throws MeshError: TRANSPORT_ERROR when
   * the connection is gone, SERVICE_UNAVAILABLE when the peer does not keep up
   * and the socket buffer is over its bound.
   */
  write(frame: Buffer): void {
    if (this.closedReason !== undefined) throw new MeshError('TRANSPORT_ERROR', 'region link connection is closed');
    if (this.socket.writableLength > this.opts.maxWriteBufferBytes) {
      throw new MeshError('SERVICE_UNAVAILABLE', 'region link congested (peer not reading)', {
        detail: { buffered: this.socket.writableLength, max: this.opts.maxWriteBufferBytes },
      });
    }
    this.socket.write(frame);
  }

  sendEnvelope(env: EnvelopeInput): void {
    this.write(encodeFrame(encodeEnvelope(env, { maxBytes: this.opts.maxFrameBytes })));
  }

  /** Tear down (idempotent). */
  close(reason: MeshError = new MeshError('CLOSED', 'region link connection closed')): void {
    if (this.closedReason !== undefined) return;
    this.closedReason = reason;
    if (this.tick !== undefined) clearInterval(this.tick);
    this.tick = undefined;
    this.decoder.reset();
    this.socket.destroy();
    this.emit('closed', reason);
    this.removeAllListeners();
  }

  private onTick(): void {
    const now = Date.now();
    if (now - this.lastReceivedAt > this.opts.deadPeerTimeoutMs) {
      this.close(new MeshError('UPSTREAM_TIMEOUT', `region link peer silent for ${now - this.lastReceivedAt} ms`));
      return;
    }
    if (now - this.lastHeartbeatAt >= this.opts.heartbeatIntervalMs) {
      this.lastHeartbeatAt = now;
      try {
        this.sendEnvelope({
          kind: 'EVENT',
          body: { type: 'heartbeat', value: { nodeId: this.identity.nodeId, region: this.identity.region, seq: ++this.heartbeatSeq } },
        });
      } catch {
        // Congested or closing: the dead-peer check on the other side decides.
      }
    }
  }

  private onData(chunk: Buffer): void {
    this.lastReceivedAt = Date.now();
    let frames: Buffer[];
    try {
      frames = this.decoder.push(chunk);
    } catch (e) {
      // An oversize length cannot be skipped: the byte stream is lost.
      this.close(isMeshError(e) ? e : new MeshError('BAD_REQUEST', 'bad frame', { cause: e }));
      return;
    }
    for (const frame of frames) {
      if (this.closedReason !== undefined) return;
      let env: Envelope;
      try {
        env = decodeEnvelope(frame, { maxBytes: this.opts.maxFrameBytes });
      } catch {
        // Frame boundaries are intact, so one bad (or newer-schema) message is skipped, not fatal.
        this.droppedFrames++;
        continue;
      }
      this.dispatch(env);
    }
  }

  private dispatch(env: Envelope): void {
    if (this.peer === undefined) {
      if (env.body.type !== 'linkHello') {
        this.close(new MeshError('BAD_REQUEST', `region link peer sent ${env.body.type} before hello`));
        return;
      }
      this.peer = env.body.value;
      this.emit('hello', env.body.value);
      return;
    }
    switch (env.kind) {
      case 'REPLY':
        this.handlers.onReply(env);
        return;
      case 'REQUEST':
        void this.answer(env);
        return;
      default:
        if (env.body.type === 'heartbeat' || env.body.type === 'linkHello') return;
        this.handlers.onEvent(env.body, env);
    }
  }

  private async answer(env: Envelope): Promise<void> {
    const reply = (body: EnvelopeBodyInput): void => {
      if (this.closedReason !== undefined) return;
      try {
        this.sendEnvelope({ kind: 'REPLY', replyTo: env.requestId, body });
      } catch (e) {
        if (!isMeshError(e) || e.code === 'TRANSPORT_ERROR') return;
        // The handler's answer could not be encoded (bad or too large): say so instead.
        try {
          this.sendEnvelope({ kind: 'REPLY', replyTo: env.requestId, body: errorBody(e) });
        } catch {
          // Link congested or gone: the requester's timeout covers it.
        }
      }
    };
    const handler = this.handlers.onRequest;
    if (handler === undefined) {
      reply(errorBody(new MeshError('NOT_FOUND', `node ${this.identity.nodeId} takes no requests`)));
      return;
    }
    if (this.incoming >= this.opts.maxConcurrentIncoming) {
      reply(errorBody(new MeshError('RATE_LIMITED', 'too many requests in progress')));
      return;
    }
    this.incoming++;
    try {
      reply(await handler(env.body, { peer: this.peer as LinkHello, envelope: env }));
    } catch (e) {
      reply(errorBody(isMeshError(e) ? e : new MeshError('INTERNAL', (e as Error)?.message ?? String(e))));
    } finally {
      this.incoming--;
    }
  }
}

function errorBody(e: MeshError): EnvelopeBodyInput {
  return { type: 'errorReply', value: { code: e.code, message: e.message } };
}
