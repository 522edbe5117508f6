import type { NgQueryResult, NgSdpParams } from '../ng/types.js';

/**
 * The one seam between callers and a media node: everything the B2BUA, call
 * legs, forks and recordings ask of one rtpengine goes through a
 * `MediaEngine`, so none of them speaks ng itself and a test can stand in
 * for the node. `RtpengineMediaEngine` (rtpengine.ts) is the implementation;
 * test/integration/media/engine-contract.test.ts is its contract suite.
 *
 * Tags follow ng: `fromTag` is the tag of the party whose SDP or media is
 * meant, `toTag` the other party's (or a subscription's).
 */

/** Per-call options; everything in NgSdpParams except the identifiers and the SDP. */
export type MediaSdpOptions = Omit<NgSdpParams, 'callId' | 'fromTag' | 'sdp'>;

/** A media subscription's offer: one sendonly m= line per forked source (rtpengine's `subscribe request`). */
export interface SubscriptionOffer {
  /** The subscription's own tag at the node; it names the subscription in `subscribeAnswer` and `unsubscribe`. */
  toTag: string;
  sdp: string;
}

export interface MediaEngine {
  /** Allocate: anchor the offerer's media; resolves with the SDP to send to the callee. */
  offer(callId: string, fromTag: string, sdp: string, opts?: MediaSdpOptions): Promise<string>;
  /**
   * Complete the session with the callee's answer; resolves with the SDP to send back to the caller.
   * As in ng, `fromTag` is the offerer's (caller's) tag and `toTag` the answerer's.
   */
  answer(callId: string, fromTag: string, toTag: string, sdp: string, opts?: MediaSdpOptions): Promise<string>;
  /** Release the call's media (all legs, or one `fromTag`'s). Unknown calls are not an error. */
  delete(callId: string, fromTag?: string): Promise<void>;
  /** The call's legs, streams and packet counters as the node sees them. */
  query(callId: string): Promise<NgQueryResult>;
  /**
   * Play a file on the node *to* the party tagged `fromTag`. Resolves with the
   * file's length in ms when the node reports one (it keeps playing after).
   */
  play(callId: string, fromTag: string, file: string): Promise<number | undefined>;
  /** Stop what `play` started for `fromTag`. */
  stopPlay(callId: string, fromTag: string): Promise<void>;
  /** Fork, step 1: subscribe to the media of `fromTags`; the node offers one sendonly stream per source. */
  subscribe(callId: string, fromTags: readonly string[]): Promise<SubscriptionOffer>;
  /** Fork, step 2: where each source goes (the answer to the subscription's offer); the node starts sending. */
  subscribeAnswer(callId: string, toTag: string, sdp: string): Promise<void>;
  /** End a subscription; the call's own legs are not touched. */
  unsubscribe(callId: string, toTag: string): Promise<void>;
}
