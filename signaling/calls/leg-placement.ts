/**
 * Every instruction that changes a leg's media needs asks the placement
 * policy (DESIGN.md step 6): play and say (`play`), digit collection and
 * bridging (`relay`: every media node reports RFC 4733 digits and relays),
 * recording (`record`). The leg's media is already on a node, so the question
 * is whether that node serves the need ("use it there") — each first ask of a
 * capability is traced with the call's other decisions. When the policy says
 * the capability is elsewhere (or nowhere), the instruction fails with a clear
 * error instead of running on a node that cannot serve it: moving a leg's
 * media to another node in mid-call is not supported (the application leg is
 * placed for `play` when the call starts, which is what Say/Play/Gather need).
 */
import { MeshError } from '../../regions/core/errors.js';
import type { MediaCapability, PlacementDecision } from '../../regions/placement/types.js';
import type { LegMediaOps } from './platform-leg.js';

/** The policy's answer for one capability of a leg on its node (RegistryMediaPort.decideFor). */
export type DecideForLeg = (capability: MediaCapability) => PlacementDecision;

/** `ops` whose play, digit, recording and bridge operations first check their capability with the policy (once each). */
export function withLegPlacement(ops: LegMediaOps, nodeId: string, decide: DecideForLeg): LegMediaOps {
  const answers = new Map<MediaCapability, MeshError | undefined>();
  /** Throws the refusal for `capability`, if the policy gave one. */
  const need = (capability: MediaCapability): void => {
    let refusal = answers.get(capability);
    if (!answers.has(capability)) {
      const d = decide(capability);
      refusal =
        d.outcome === 'unavailable'
          ? new MeshError('SERVICE_UNAVAILABLE', `no media node serves ${capability} for this call: ${d.reasons.join(' ')}`)
          : d.nodeId !== nodeId
            ? new MeshError('SERVICE_UNAVAILABLE', `${capability} is not served by ${nodeId}, which holds the call's media; the policy points at ${d.nodeId} (${d.outcome}, ${d.region}), and a leg's media is not moved in mid-call`)
            : undefined;
      answers.set(capability, refusal);
    }
    if (refusal !== undefined) throw refusal;
  };
  return {
    play: (file, durationMs, signal) => checked(() => need('play'), () => ops.play(file, durationMs, signal)),
    sendDigits: (digits, signal) => ops.sendDigits(digits, signal),
    onDigit: (listener) => {
      need('relay');
      return ops.onDigit(listener);
    },
    startRecording: () => checked(() => need('record'), () => ops.startRecording()),
    mediaEndpoint: () => ops.mediaEndpoint(),
    connectMedia: (peer) => checked(() => (peer === undefined ? undefined : need('relay')), () => ops.connectMedia(peer)),
    ...(ops.answerPartyOffer === undefined ? {} : { answerPartyOffer: () => ops.answerPartyOffer!() }),
    ...(ops.close === undefined ? {} : { close: () => ops.close!() }),
  };
}

/** `then()` after `check()`, a refusal of `check` as a rejected promise (callers may not await in a try). */
function checked<T>(check: () => void, then: () => Promise<T>): Promise<T> {
  try {
    check();
  } catch (e) {
    return Promise.reject(e);
  }
  return then();
}
