import type { NgClientLike } from './ng/client.js';
import type { NgQueryResult, NgSdpParams } from './ng/types.js';

/**
 * The seam between the B2BUA and the media relay: SDP in, rewritten SDP out.
 * The B2BUA never speaks ng itself, so a test or another relay can stand in.
 */

/** Per-call options; everything in NgSdpParams except the identifiers and the SDP. */
export type MediaSdpOptions = Omit<NgSdpParams, 'callId' | 'fromTag' | 'sdp'>;

export interface MediaEngine {
  /** Anchor the offerer's media; resolves with the SDP to send to the callee. */
  offer(callId: string, fromTag: string, sdp: string, opts?: MediaSdpOptions): Promise<string>;
  /**
   * Complete the session with the callee's answer; resolves with the SDP to send back to the caller.
   * As in ng, `fromTag` is the offerer's (caller's) tag and `toTag` the answerer's.
   */
  answer(callId: string, fromTag: string, toTag: string, sdp: string, opts?: MediaSdpOptions): Promise<string>;
  /** Release the call's media (all legs, or one `fromTag`'s). Unknown calls are not an error. */
  delete(callId: string, fromTag?: string): Promise<void>;
  query(callId: string): Promise<NgQueryResult>;
}

/**
 * Defaults that make a B2BUA in front of plain SIP phones work: rtpengine
 * writes its own address into o= and the session c= line (otherwise the
 * phones would still see each other's address in o=/c=), and ICE candidates
 * are stripped because our SIP peers do not do ICE.
 */
export const B2BUA_SDP_DEFAULTS: Readonly<MediaSdpOptions> = Object.freeze<MediaSdpOptions>({
  replace: ['origin', 'session-connection'],
  ice: 'remove',
});

export class RtpengineMediaEngine implements MediaEngine {
  constructor(
    private readonly client: NgClientLike,
    private readonly defaults: MediaSdpOptions = B2BUA_SDP_DEFAULTS,
  ) {}

  async offer(callId: string, fromTag: string, sdp: string, opts: MediaSdpOptions = {}): Promise<string> {
    const r = await this.client.offer({ ...this.defaults, ...opts, callId, fromTag, sdp });
    return r.sdp;
  }

  async answer(callId: string, fromTag: string, toTag: string, sdp: string, opts: MediaSdpOptions = {}): Promise<string> {
    const r = await this.client.answer({ ...this.defaults, ...opts, callId, fromTag, toTag, sdp });
    return r.sdp;
  }

  async delete(callId: string, fromTag?: string): Promise<void> {
    await this.client.delete(fromTag === undefined ? { callId } : { callId, fromTag });
  }

  query(callId: string): Promise<NgQueryResult> {
    return this.client.query(callId);
  }
}
