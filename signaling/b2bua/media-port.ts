/**
 * What the B2BUA needs from media: choose a node for a new call and have it
 * rewrite SDP. Kept this small so the B2BUA does not know about ng, health
 * or placement. The consumer owns its port: `media/nodes/media-port.ts`
 * (RegistryMediaPort) implements it structurally on the node registry and
 * each node's MediaEngine, and `infra/` hands one to the other.
 */
/**
 * What a call's media needs, when it is not a relay in this region: the
 * region where the caller's RTP enters (an edge that forwarded the call here)
 * and the capability the leg must have (an application call plays and
 * collects digits).
 */
export interface MediaNeed {
  /** Region where the media is (default: this region). */
  readonly mediaRegion?: string;
  /** Capability needed (default `relay`); a catalog capability name. */
  readonly capability?: 'relay' | 'play' | 'record' | 'transcode' | 'conference';
}

/** What the party that gets an offer's SDP talks, per leg. */
export interface OfferOptions {
  /**
   * The SDP goes to a browser or app client (a registration over WS/WSS):
   * its side needs ICE + DTLS-SRTP (WebRTC). The seam for issue 13 item 3,
   * which turns it into ng flags; until then the offer is plain RTP.
   */
  readonly webrtc?: boolean;
}

export interface MediaPort {
  /**
   * Choose a healthy media node for a new call and count it against that
   * node's load: by default a relay where this region's media is; with `need`,
   * the placement policy's answer for that region and capability (possibly a
   * node of another region). Throws MeshError('SERVICE_UNAVAILABLE') when
   * there is none; its message carries the placement's reasons.
   */
  acquire(callId: string, need?: MediaNeed): { nodeId: string };
  /**
   * Move the call's allocation to another healthy node than the excluded
   * one(s) (re-anchoring after a node died; a new call's offer that failed on
   * a node). Throws MeshError('SERVICE_UNAVAILABLE') when there is none; the
   * old allocation is released either way.
   */
  reacquire(callId: string, exclude: string | readonly string[], need?: MediaNeed): { nodeId: string };
  /** Count a call that already has a session on `nodeId` (adopted after a signaling failover). */
  attach(callId: string, nodeId: string): void;
  /** Whether `nodeId` is healthy now (an adopted call on a dead node is re-anchored at once). */
  isHealthy(nodeId: string): boolean;
  /** Forget the call's load on its node. Idempotent. */
  release(callId: string): void;
  /** SDP offer from the leg tagged `fromTag`; returns the SDP to send to the other leg. */
  offer(nodeId: string, callId: string, fromTag: string, sdp: string, toTag?: string, opts?: OfferOptions): Promise<string>;
  /** SDP answer to an offer from `fromTag`, coming from the leg tagged `toTag`; returns the SDP for `fromTag`'s leg. */
  answer(nodeId: string, callId: string, fromTag: string, toTag: string, sdp: string): Promise<string>;
  /** Tear the media session down. */
  delete(nodeId: string, callId: string): Promise<void>;
}
