/**
 * Bridge two legs: each platform side sends its party's media to the other's
 * platform-side port (leg.ts media model). The bridge lasts until either leg
 * ends, the time limit passes, or the signal aborts; then every surviving leg
 * is unbridged (its media goes back to nowhere). Hanging up is the caller's
 * decision, not the bridge's.
 */
import type { CallLeg } from '../leg.js';
import { linkSignals, sleep } from './abort.js';

export type BridgeEnd = 'a-ended' | 'b-ended' | 'time-limit' | 'aborted' | 'failed';

export interface BridgeResult {
  end: BridgeEnd;
  /** Time the two were connected. */
  durationMs: number;
  error?: Error;
}

export async function bridgeLegs(a: CallLeg, b: CallLeg, timeLimitMs: number, signal: AbortSignal): Promise<BridgeResult> {
  if (a.isEnded) return { end: 'a-ended', durationMs: 0 };
  if (b.isEnded) return { end: 'b-ended', durationMs: 0 };
  if (signal.aborted) return { end: 'aborted', durationMs: 0 };
  try {
    await Promise.all([a.connectMedia(b.mediaEndpoint()), b.connectMedia(a.mediaEndpoint())]);
  } catch (e) {
    await unbridge(a, b);
    return { end: 'failed', durationMs: 0, error: e as Error };
  }
  const started = Date.now();
  const stop = linkSignals(signal);
  let end: BridgeEnd = 'aborted';
  const onEnd = (which: BridgeEnd) => (): void => {
    if (stop.signal.aborted) return;
    end = which;
    stop.abort('done');
  };
  void a.ended.then(onEnd('a-ended'), onEnd('a-ended'));
  void b.ended.then(onEnd('b-ended'), onEnd('b-ended'));
  // A leg may have ended while the media was being connected.
  if (a.isEnded) onEnd('a-ended')();
  else if (b.isEnded) onEnd('b-ended')();
  if (await sleep(timeLimitMs, stop.signal)) end = 'time-limit';
  stop.dispose();
  const durationMs = Date.now() - started;
  await unbridge(a, b);
  return { end, durationMs };
}

async function unbridge(a: CallLeg, b: CallLeg): Promise<void> {
  await Promise.all(
    [a, b].filter((l) => !l.isEnded).map((l) => l.connectMedia(undefined).catch(() => {})),
  );
}
