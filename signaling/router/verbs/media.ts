/**
 * Say, Play and Pause: the verbs that only play to the party. Also used
 * nested in Gather, in wait applications and in announcements. A media file
 * that cannot be had is reported and the document goes on with the next verb
 * (the dialect's behaviour for a Play URL that fails to load).
 */
import { isDestinationRefused } from '../../../regions/net/destination-policy.js';
import { DIALECT_ERRORS } from '../errors.js';
import type { Pause, Play, Say } from '../twiml-types.js';
import { abortable, isStepAborted, sleep } from './abort.js';
import type { CallContext } from './context.js';
import { EXEC_ERRORS, type MediaFile } from './types.js';

export async function runSay(ctx: CallContext, v: Say, signal: AbortSignal): Promise<void> {
  await ctx.ensureAnswered();
  if (v.text === '' || signal.aborted) return;
  const file = await load(ctx, ctx.deps.media.speech(v.text, v.voice, v.language), signal, EXEC_ERRORS.INTERNAL_FAILURE, 'speech synthesis failed', '');
  if (file === undefined) return;
  for (let i = 0; i < v.loop && !signal.aborted; i++) {
    if (!(await ctx.play(file, signal))) return;
  }
}

export async function runPlay(ctx: CallContext, v: Play, signal: AbortSignal): Promise<void> {
  await ctx.ensureAnswered();
  if (v.digits !== undefined && !signal.aborted) {
    try {
      await ctx.leg.sendDigits(v.digits, signal);
      ctx.markProgress();
    } catch (e) {
      if (!signal.aborted) ctx.reportError(EXEC_ERRORS.INTERNAL_FAILURE, `sending digits failed: ${(e as Error).message}`, '');
    }
  }
  if (v.url === undefined || signal.aborted) return;
  const file = await load(ctx, ctx.deps.media.url(v.url), signal, EXEC_ERRORS.MEDIA_RETRIEVAL_FAILURE, 'could not load media', v.url);
  if (file === undefined) return;
  for (let i = 0; i < v.loop && !signal.aborted; i++) {
    if (!(await ctx.play(file, signal))) return;
  }
}

export async function runPause(ctx: CallContext, v: Pause, signal: AbortSignal): Promise<void> {
  await ctx.ensureAnswered();
  if (v.length <= 0) return;
  await sleep(v.length * 1000, signal);
  ctx.markProgress();
}

/** Get a media file, or report why not (undefined also when the step was aborted). */
async function load(
  ctx: CallContext,
  p: Promise<MediaFile>,
  signal: AbortSignal,
  code: number,
  what: string,
  url: string,
): Promise<MediaFile | undefined> {
  try {
    return await abortable(p, signal);
  } catch (e) {
    if (isStepAborted(e)) return undefined;
    // A URL the webhook policy refuses is reported like an unreachable one (11205), as the dialect does for private addresses.
    ctx.reportError(isDestinationRefused(e) ? DIALECT_ERRORS.HTTP_CONNECTION_FAILURE : code, `${what}: ${(e as Error).message}`, url);
    return undefined;
  }
}
