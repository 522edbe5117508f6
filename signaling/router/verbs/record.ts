/**
 * Record: optional beep, then record what the party says until a key of
 * `finishOnKey`, `maxLength`, or a hang-up. The file becomes a Recording
 * resource (RecordingSink); `action` gets RecordingSid/RecordingUrl/
 * RecordingDuration and Digits (the key, or "hangup"), the recording status
 * callback gets RecordingStatus=completed. Without `action` the document goes
 * on with the next verb.
 *
 * Not implemented: the silence `timeout` (the CallLeg contract reports no
 * voice activity), so a recording ends only on a key, maxLength or hang-up.
 */
import type { Params } from '../../webhooks/signature.js';
import type { RecordingHandle, RecordingResult } from '../leg.js';
import type { Record } from '../twiml-types.js';
import { abortable, isStepAborted, linkSignals, reasonOf, sleep } from './abort.js';
import type { CallContext } from './context.js';
import { EXEC_ERRORS, type Outcome } from './types.js';

export async function runRecord(ctx: CallContext, v: Record, signal: AbortSignal): Promise<Outcome> {
  await ctx.ensureAnswered();
  if (v.playBeep && !signal.aborted) {
    try {
      const beep = await abortable(ctx.deps.media.beep(), signal);
      await ctx.play(beep, signal);
    } catch (e) {
      if (!isStepAborted(e)) ctx.reportError(EXEC_ERRORS.INTERNAL_FAILURE, `beep unavailable: ${(e as Error).message}`, '');
    }
  }
  if (signal.aborted) return { kind: 'aborted' };

  const starting = ctx.leg.startRecording();
  let handle: RecordingHandle;
  try {
    handle = await abortable(starting, signal);
  } catch (e) {
    if (isStepAborted(e)) {
      // It may still start: stop it as soon as it does, so no recording is left running.
      starting.then((h) => h.stop()).catch(() => {});
      return { kind: 'aborted' };
    }
    ctx.reportError(EXEC_ERRORS.INTERNAL_FAILURE, `recording could not start: ${(e as Error).message}`, '');
    return { kind: 'next' };
  }

  const stop = linkSignals(signal);
  let key: string | undefined;
  const unsubscribe = ctx.leg.onDigit((d) => {
    if (key === undefined && v.finishOnKey.includes(d)) {
      key = d;
      stop.abort('done');
    }
  });
  try {
    await sleep(v.maxLength * 1000, stop.signal);
  } finally {
    unsubscribe();
    stop.dispose();
  }
  ctx.markProgress();

  let result: RecordingResult;
  try {
    result = await handle.stop();
  } catch (e) {
    ctx.reportError(EXEC_ERRORS.INTERNAL_FAILURE, `recording could not be finished: ${(e as Error).message}`, '');
    return signal.aborted ? { kind: 'aborted' } : { kind: 'next' };
  }

  const why = reasonOf(signal);
  const hungUp = why === 'ended' || why === 'closed' || ctx.leg.isEnded;
  if (result.durationMs <= 0) {
    // Nothing was recorded: the dialect skips the action and goes on.
    return signal.aborted ? { kind: 'aborted' } : { kind: 'next' };
  }
  let saved: { recordingSid: string; url: string };
  try {
    saved = await ctx.deps.recordings.save({ accountSid: ctx.accountSid, callSid: ctx.callSid, source: 'RecordVerb', result });
  } catch (e) {
    ctx.reportError(EXEC_ERRORS.INTERNAL_FAILURE, `recording could not be saved: ${(e as Error).message}`, '');
    return signal.aborted ? { kind: 'aborted' } : { kind: 'next' };
  }
  const params: Params = {
    RecordingSid: saved.recordingSid,
    RecordingUrl: saved.url,
    RecordingDuration: String(Math.round(result.durationMs / 1000)),
  };
  if (v.recordingStatusCallback !== undefined) {
    ctx.callback(v.recordingStatusCallback, v.recordingStatusCallbackMethod, {
      ...params,
      RecordingStatus: 'completed',
      RecordingSource: 'RecordVerb',
      RecordingChannels: '1',
    });
  }
  // An API redirect takes the call elsewhere: the recording is kept, the action is not requested.
  if (why === 'redirect') return { kind: 'aborted' };
  if (v.action !== undefined) {
    const digits = key ?? (hungUp ? 'hangup' : undefined);
    return { kind: 'goto', url: v.action, method: v.method, params: digits === undefined ? params : { ...params, Digits: digits } };
  }
  return hungUp ? { kind: 'aborted' } : { kind: 'next' };
}
