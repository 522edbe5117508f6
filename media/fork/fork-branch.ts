/**
 * Fork a call's media to another place (the home region's central media
 * service, or the edge's own local store) with rtpengine's media
 * subscriptions, checked on rtpengine 10.5 in userspace mode:
 *
 *   `subscribe request` {call-id, from-tags}  → an SDP offer, one sendonly m= per source, and the
 *                                               subscription's own `to-tag`
 *   `subscribe answer`  {call-id, to-tag, sdp} → rtpengine starts sending each source's RTP
 *                                               (unchanged SSRC, sequence numbers and payload) to
 *                                               the address in the matching answer m= line
 *   `unsubscribe`       {call-id, to-tag}      → stops it
 *
 * Several subscriptions of one source may coexist (one to the central
 * service, one to the local store). The call's own legs are not touched.
 * The three commands are the MediaEngine's (media/engine); this file adds
 * the answer SDP and the handle.
 */
import { isMeshError, MeshError } from '../../regions/core/errors.js';
import type { MediaEngine } from '../engine/types.js';
import { buildSubscribeAnswer, parseSubscribeOffer, type OfferedMedia } from './subscribe-sdp.js';

export interface ForkTarget {
  address: string;
  port: number;
}

export interface ForkBranchRequest {
  callId: string;
  /** Tags of the parties whose media is forked, one stream each (e.g. the caller's from-tag). */
  fromTags: string[];
  /** Where each source's RTP goes, same order as `fromTags`. */
  targets: ForkTarget[];
  /** Encodings the receiver accepts, in the offered order. Default ['PCMU', 'PCMA'] (G.711). */
  accept?: string[];
}

export interface ForkStream {
  fromTag: string;
  target: ForkTarget;
  /** rtpengine's port that sends this stream. */
  source: { address: string; port: number };
  payloadType: number;
}

export interface ForkHandle {
  readonly callId: string;
  /** The subscription's tag at rtpengine. */
  readonly toTag: string;
  readonly streams: readonly ForkStream[];
  /** Ends the subscription. Idempotent; a call already deleted is not an error. */
  stop(): Promise<void>;
}

export async function forkBranch(engine: MediaEngine, req: ForkBranchRequest): Promise<ForkHandle> {
  if (req.fromTags.length === 0 || req.fromTags.length !== req.targets.length) {
    throw new MeshError('BAD_REQUEST', `forkBranch needs one target per from-tag (${req.fromTags.length} tags, ${req.targets.length} targets)`);
  }
  const accept = (req.accept ?? ['PCMU', 'PCMA']).map((e) => e.toUpperCase());
  const { toTag, sdp } = await engine.subscribe(req.callId, req.fromTags);
  const unsubscribe = async (): Promise<void> => {
    try {
      await engine.unsubscribe(req.callId, toTag);
    } catch (e) {
      // The call (and with it the subscription) is already gone: the goal of stop() is met.
      if (!(isMeshError(e, 'BAD_GATEWAY') && /unknown (call|tag)/i.test(e.message))) throw e;
    }
  };
  let offer: OfferedMedia[];
  try {
    offer = parseSubscribeOffer(sdp);
    const answer = buildSubscribeAnswer(offer, req.targets, accept, Date.now() % 1_000_000_000);
    await engine.subscribeAnswer(req.callId, toTag, answer);
  } catch (e) {
    await unsubscribe().catch(() => undefined);
    throw e;
  }
  const streams = offer.map((m, i): ForkStream => {
    const pt = m.payloadTypes.find((p) => accept.includes(m.encodings.get(p) ?? '')) ?? -1;
    return { fromTag: req.fromTags[i] as string, target: req.targets[i] as ForkTarget, source: { address: m.address, port: m.port }, payloadType: pt };
  });
  let stopping: Promise<void> | undefined;
  return {
    callId: req.callId,
    toTag,
    streams,
    stop: () => (stopping ??= unsubscribe()),
  };
}
