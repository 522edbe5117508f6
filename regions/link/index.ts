/** Region links: persistent, heartbeated TCP connections carrying protobuf Envelopes between regions. */
export { RegionLinkClient, type RegionLinkClientEvents } from './client.js';
export { RegionLinkServer, LinkSession, type RegionLinkServerEvents } from './server.js';
export { DelayRelay, type DelayRelayOptions } from './delay-relay.js';
export { expectBody } from './body.js';
export { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js';
export { encodeFrame, FrameDecoder, FRAME_HEADER_BYTES } from './framing.js';
export { SendQueue, type SendQueueOptions } from './send-queue.js';
export { TypedEmitter } from './typed-emitter.js';
export {
  CONNECTION_DEFAULTS,
  LINK_PROTOCOL_VERSION,
  type ConnectionOptions,
  type LinkIdentity,
  type RegionLinkClientOptions,
  type RegionLinkServerOptions,
  type RequestContext,
  type RequestHandler,
  type RequestOptions,
  type SendOptions,
} from './types.js';
export { UdpDelayRelay } from './udp-delay-relay.js';
