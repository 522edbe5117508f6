/**
 * A new call's first media offer, tried on the next node when one fails.
 *
 * A node can fail an offer in the moments before health checks notice: it
 * died (the ng command times out), its breaker is open, or it ran out of RTP
 * ports (rtpengine answers "Ran out of ports", and the media port marks it
 * full). Each of these is that node's problem, not the call's, so the offer
 * moves to another node that takes new calls, within the INVITE's time budget
 * (the caller has a 100 Trying and waits; an answer long after that is worth
 * less than a quick 503 it can retry elsewhere). Used by the B2BUA's new-call
 * path and by inbound application calls (signaling/calls/inbound-app.ts).
 */
import { isMeshError, MeshError } from '../../regions/core/errors.js';
import type { MediaNeed, MediaPort, WebrtcSide } from './media-port.js';

export interface OfferRetryOptions {
  /** Time all attempts together may take, ms; an attempt still running when it is spent counts as failed. */
  budgetMs: number;
  /** Most nodes tried. Default 3. */
  maxAttempts?: number;
  /** Stop trying (e.g. the caller cancelled); the allocation is released and MEDIA_UNAVAILABLE thrown. */
  isCancelled?: () => boolean;
  /** Each failed attempt, for logs. */
  onAttemptFailed?: (nodeId: string, error: unknown) => void;
  /** Clock. Default Date.now. */
  now?: () => number;
  /** Where the media is and what it needs (MediaPort.acquire's `need`), for every node tried. Default: a relay here. */
  need?: MediaNeed;
  /** A browser's place in the offer (MediaPort.offer's `webrtc`): `sender` when `sdp` is a browser client's. */
  webrtc?: WebrtcSide;
}

export interface OfferPlaced {
  /** The node that took the offer (the call's allocation is there). */
  nodeId: string;
  /** The SDP the node returned, for the other leg. */
  sdp: string;
  /** Nodes tried, the successful one included. */
  attempts: number;
}

/** Default budget of a new call's offers: a dead node's ng timeout (1 s) and then a good node's answer, with room to spare. */
export const DEFAULT_OFFER_BUDGET_MS = 2500;

const BUDGET_SPENT = Symbol('budget spent');

/**
 * Acquire a node for `callId` and offer `sdp` (from the leg tagged `fromTag`)
 * there; on a failure, re-acquire excluding every node tried so far and offer
 * again, until one answers, none is left, `maxAttempts` nodes were tried or
 * the budget is spent. On success the call's allocation is on the returned
 * node. On failure the allocation is released and a MeshError is thrown:
 * NO_MEDIA_NODE when no node took new calls at all, MEDIA_UNAVAILABLE when
 * every node tried failed (cause: the last error; detail: the nodes tried).
 */
export async function offerWithRetry(
  media: MediaPort,
  callId: string,
  fromTag: string,
  sdp: string,
  opts: OfferRetryOptions,
): Promise<OfferPlaced> {
  const now = opts.now ?? Date.now;
  const deadline = now() + opts.budgetMs;
  const maxAttempts = opts.maxAttempts ?? 3;
  let nodeId: string;
  try {
    nodeId = media.acquire(callId, opts.need).nodeId;
  } catch (e) {
    if (isMeshError(e, 'SERVICE_UNAVAILABLE')) throw new MeshError('NO_MEDIA_NODE', e.message, { cause: e, retryAfter: e.retryAfter ?? 5 });
    throw e;
  }
  const tried: string[] = [];
  let lastError: unknown;
  for (;;) {
    tried.push(nodeId);
    const remaining = deadline - now();
    const outcome = remaining <= 0 ? failed(BUDGET_SPENT) : await attempt(media, nodeId, callId, fromTag, sdp, remaining, opts.webrtc);
    if (outcome.ok) return { nodeId, sdp: outcome.sdp, attempts: tried.length };
    lastError = outcome.error === BUDGET_SPENT
      ? new MeshError('UPSTREAM_TIMEOUT', `media offer on ${nodeId} did not finish within the call's ${opts.budgetMs} ms budget`)
      : outcome.error;
    opts.onAttemptFailed?.(nodeId, lastError);
    if (tried.length >= maxAttempts || now() >= deadline || opts.isCancelled?.() === true) break;
    try {
      nodeId = media.reacquire(callId, tried, opts.need).nodeId;
    } catch (e) {
      if (!isMeshError(e, 'SERVICE_UNAVAILABLE')) {
        media.release(callId);
        throw e;
      }
      break; // no other node takes new calls
    }
  }
  media.release(callId);
  const why = lastError instanceof Error ? lastError.message : String(lastError);
  throw new MeshError('MEDIA_UNAVAILABLE', `media offer failed on ${tried.join(', ')}: ${why}`, {
    cause: lastError,
    retryAfter: 5,
    detail: { callId, nodesTried: tried },
  });
}

type Outcome = { ok: true; sdp: string } | { ok: false; error: unknown };
const failed = (error: unknown): Outcome => ({ ok: false, error });

/**
 * One offer, raced against what is left of the budget. An offer that loses
 * the race or times out may still have created a session on its node (a lost
 * reply), so the session is deleted there, best effort: the call goes on elsewhere.
 */
function attempt(media: MediaPort, nodeId: string, callId: string, fromTag: string, sdp: string, remainingMs: number, webrtc: WebrtcSide | undefined): Promise<Outcome> {
  return new Promise<Outcome>((resolve) => {
    let settled = false;
    const timer = setTimeout(() => {
      settled = true;
      resolve(failed(BUDGET_SPENT));
    }, remainingMs);
    media.offer(nodeId, callId, fromTag, sdp, undefined, webrtc).then(
      (out) => {
        clearTimeout(timer);
        if (settled) {
          void media.delete(nodeId, callId).catch(() => {}); // too late: the call was moved on
          return;
        }
        settled = true;
        resolve({ ok: true, sdp: out });
      },
      (e: unknown) => {
        clearTimeout(timer);
        if (isMeshError(e, 'UPSTREAM_TIMEOUT')) void media.delete(nodeId, callId).catch(() => {});
        if (settled) return;
        settled = true;
        resolve(failed(e));
      },
    );
  });
}
