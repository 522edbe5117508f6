/**
 * Options of region links, each with its default beside it, and the shapes
 * shared by client and server.
 */
import type { Envelope, EnvelopeBody, EnvelopeBodyInput, LinkHello } from '../proto/types.js';
import type { BackoffOptions } from './backoff.js';
import type { SendQueueOptions } from './send-queue.js';

/** Version of the link protocol spoken (sent in LinkHello). */
export const LINK_PROTOCOL_VERSION = 1;

export interface LinkIdentity {
  /** Region of this end, e.g. 'us-east'. */
  region: string;
  /** Node id of this end, e.g. 'us-east-sig-1'. */
  nodeId: string;
}

export interface RequestContext {
  /** The peer's hello (region, node id). */
  peer: LinkHello;
  envelope: Envelope;
}

/**
 * Answers a REQUEST from the peer. Throw a MeshError to reply with an
 * ErrorReply carrying its code; any other exception replies INTERNAL.
 */
export type RequestHandler = (body: EnvelopeBody, ctx: RequestContext) => EnvelopeBodyInput | Promise<EnvelopeBodyInput>;

export interface ConnectionOptions {
  /** Interval between heartbeats sent. Default 1000 ms. */
  heartbeatIntervalMs?: number;
  /** Nothing received for this long: the peer is dead, drop the connection. Default 3500 ms. */
  deadPeerTimeoutMs?: number;
  /** Largest frame accepted or sent (one encoded Envelope). Default 256 KiB. */
  maxFrameBytes?: number;
  /** Most requests awaiting a reply at once. Default 10 000. */
  maxPendingRequests?: number;
  /** Most incoming requests being handled at once; more are answered RATE_LIMITED. Default 1000. */
  maxConcurrentIncoming?: number;
  /** Socket write buffer above which sends are refused (peer too slow). Default 4 MiB. */
  maxWriteBufferBytes?: number;
  /** Time for TCP connect plus the peer's hello. Default 2000 ms. */
  handshakeTimeoutMs?: number;
}

export const CONNECTION_DEFAULTS: Required<ConnectionOptions> = {
  heartbeatIntervalMs: 1000,
  deadPeerTimeoutMs: 3500,
  maxFrameBytes: 256 * 1024,
  maxPendingRequests: 10_000,
  maxConcurrentIncoming: 1000,
  maxWriteBufferBytes: 4 * 1024 * 1024,
  handshakeTimeoutMs: 2000,
};

export interface RegionLinkServerOptions extends ConnectionOptions, LinkIdentity {
  host: string;
  /** 0 picks a free port (see listen()'s result). */
  port: number;
  onRequest?: RequestHandler;
  /** Most simultaneous peer connections. Default 64. */
  maxConnections?: number;
}

export interface RegionLinkClientOptions extends ConnectionOptions, LinkIdentity {
  host: string;
  port: number;
  /** Local address to bind (keeps a region's traffic on its own loopback /24). Default: any. */
  localAddress?: string;
  onRequest?: RequestHandler;
  /** Reconnection delays. Default { initialMs: 100, maxMs: 5000, factor: 2, jitter: 0.2 }. */
  backoff?: BackoffOptions;
  /** Frames kept while down (queueWhileDown). Default { maxItems: 1000, maxBytes: 1 MiB }. */
  queue?: SendQueueOptions;
}

export interface RequestOptions {
  /** Reply deadline, counted from the call (queue time included). Required: every request has one. */
  timeoutMs: number;
  /** While the link is down keep the request queued (until timeoutMs) instead of failing fast. Default false. */
  queueWhileDown?: boolean;
}

export interface SendOptions {
  /** While the link is down keep the message queued and send it on reconnect. Default false. */
  queueWhileDown?: boolean;
}
