/**
 * Gather: collect DTMF while the nested Say/Play/Pause play. The first digit
 * stops the playback; after it (or after the playback) the router waits
 * `timeout` seconds for each next digit. Input ends at `numDigits`, at
 * `finishOnKey` (not part of Digits), or at the timeout. With digits the
 * `action` (default: the current document's URL) is requested with `Digits`;
 * without, the document goes on with the next verb.
 */
import type { Gather, GatherChild } from '../twiml-types.js';
import { linkSignals, sleep } from './abort.js';
import type { CallContext } from './context.js';
import { runPause, runPlay, runSay } from './media.js';
import type { Outcome } from './types.js';

/** Digits kept when no numDigits bounds them. */
export const MAX_GATHER_DIGITS = 128;

export async function runGather(ctx: CallContext, v: Gather, signal: AbortSignal, documentUrl: string | undefined): Promise<Outcome> {
  await ctx.ensureAnswered();
  // Speech recognition is not offered: `input="speech"` alone only waits out the timeout.
  const listens = v.input.includes('dtmf');
  const done = linkSignals(signal);
  const playback = linkSignals(done.signal);
  let digits = '';
  let finishedOnKey = '';
  let wake: (() => void) | undefined;

  const unsubscribe = listens
    ? ctx.leg.onDigit((d) => {
        if (done.signal.aborted) return;
        playback.abort('digit');
        if (v.finishOnKey !== '' && d === v.finishOnKey) {
          finishedOnKey = d;
          done.abort('done');
          return;
        }
        digits += d;
        if (digits.length >= (v.numDigits ?? MAX_GATHER_DIGITS)) {
          done.abort('done');
          return;
        }
        wake?.();
      })
    : () => {};

  try {
    for (const child of v.children) {
      if (playback.signal.aborted) break;
      await runChild(ctx, child, playback.signal);
    }
    // Each digit restarts the wait; the wait before the first digit is the same timeout.
    while (!done.signal.aborted) {
      const tick = linkSignals(done.signal);
      wake = () => tick.abort('digit');
      const timedOut = await sleep(v.timeout * 1000, tick.signal);
      tick.dispose();
      wake = undefined;
      if (timedOut) break;
    }
    if (v.timeout > 0) ctx.markProgress();
  } finally {
    unsubscribe();
    playback.dispose();
    done.dispose();
  }

  if (signal.aborted) return { kind: 'aborted' };
  if (digits === '') return { kind: 'next' };
  const action = v.action ?? documentUrl;
  if (action === undefined) {
    ctx.log.warn('router: Gather has digits but no action and no document URL; going on');
    return { kind: 'next' };
  }
  return { kind: 'goto', url: action, method: v.method, params: { Digits: digits, FinishedOnKey: finishedOnKey } };
}

async function runChild(ctx: CallContext, c: GatherChild, signal: AbortSignal): Promise<void> {
  switch (c.verb) {
    case 'Say':
      return runSay(ctx, c, signal);
    case 'Play':
      return runPlay(ctx, c, signal);
    case 'Pause':
      return runPause(ctx, c, signal);
  }
}
