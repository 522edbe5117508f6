/** The media node seam: one interface (types.ts), one rtpengine implementation (rtpengine.ts). */
export type { MediaEngine, MediaSdpOptions, SubscriptionOffer } from './types.js';
export { B2BUA_SDP_DEFAULTS, RtpengineMediaEngine } from './rtpengine.js';
export { offersPcmu, webrtcSdpOptions, type WebrtcSide } from './webrtc-sdp.js';
