/**
 * Enqueue: put the call at the back of a named queue (CallQueues, shared with
 * the control plane) and run the wait application from `waitUrl` over and
 * over while it waits (QueuePosition, QueueSid, QueueTime, AvgQueueTime,
 * CurrentQueueSize in its parameters). The wait ends with:
 *   - `Leave` in the wait application → QueueResult=leave;
 *   - `Hangup` there, or the caller hanging up → QueueResult=hangup;
 *   - a Dial → Queue on this router taking the call → announcement, bridge,
 *     and QueueResult=bridged when the bridge ends;
 *   - an API redirect → the new URL runs (no action);
 *   - a full queue → QueueResult=queue-full at once.
 * Then `action` gets QueueResult, QueueSid and QueueTime, or the document
 * goes on with the next verb. Without `waitUrl` the caller waits in silence.
 */
import { isMeshError } from '../../../regions/core/errors.js';
import type { Params } from '../../webhooks/signature.js';
import type { QueuePlace } from '../leg.js';
import type { Enqueue } from '../twiml-types.js';
import { abortable, isStepAborted, linkSignals, reasonOf, sleep, whenAborted } from './abort.js';
import type { CallContext } from './context.js';
import { QueueMember, type BridgeRelease } from './queue-registry.js';
import { ANNOUNCE_VERBS, runRestricted, WAIT_VERBS, type RestrictedEnd } from './restricted.js';
import { EXEC_ERRORS, type Outcome, type RouterFailure } from './types.js';

export type QueueResult = 'bridged' | 'queue-full' | 'leave' | 'hangup' | 'redirected' | 'error' | 'system-error';

export async function runEnqueue(ctx: CallContext, v: Enqueue, signal: AbortSignal): Promise<Outcome> {
  await ctx.ensureAnswered();
  const enqueuing = ctx.deps.queues.enqueue(ctx.accountSid, v.queue, ctx.callSid);
  let place: QueuePlace;
  try {
    place = await abortable(enqueuing, signal);
  } catch (e) {
    if (isStepAborted(e)) {
      // The enqueue may still land: take the call out again as soon as it does.
      enqueuing.then((p) => ctx.deps.queues.leave(p.queueSid, ctx.callSid)).catch(() => {});
      return { kind: 'aborted' };
    }
    if (isMeshError(e, 'CONFLICT')) return afterEnqueue(ctx, v, { QueueResult: 'queue-full' }, signal);
    ctx.reportError(EXEC_ERRORS.INTERNAL_FAILURE, `enqueue failed: ${(e as Error).message}`, '');
    return afterEnqueue(ctx, v, { QueueResult: 'system-error' }, signal);
  }
  ctx.markProgress();
  const enqueuedAt = Date.now();
  const waiting = linkSignals(signal);
  const member = new QueueMember(ctx.callSid, ctx.accountSid, v.queue, place.queueSid, enqueuedAt, ctx.leg, signal);
  void member.claimed.promise.then(() => waiting.abort('claimed'));
  ctx.registry.add(member);

  let result: QueueResult = 'hangup';
  let failure: RouterFailure | undefined;
  try {
    const end = await runWaitApp(ctx, v, member, place, waiting.signal);
    if (end.kind === 'fail') failure = end.failure;
    else if (end.kind === 'leave') result = 'leave';
    else if (end.kind === 'hangup') {
      await ctx.hangup();
      result = 'hangup';
    } else if (member.state === 'claimed' && !signal.aborted) result = await beBridged(ctx, member, signal);
    else result = reasonOf(signal) === 'redirect' ? 'redirected' : 'hangup';
  } finally {
    waiting.dispose();
    const taken = member.state === 'claimed';
    member.state = 'gone';
    member.ready.resolve(undefined);
    ctx.registry.remove(member);
    ctx.registry.recordWait(ctx.accountSid, v.queue, member.queuedMs());
    // A claimed call was already taken off the queue by dequeueFront.
    if (!taken) await leaveQuietly(ctx, place.queueSid);
  }
  if (failure !== undefined) return { kind: 'fail', failure };
  if (result === 'redirected') return { kind: 'aborted' };
  return afterEnqueue(ctx, v, {
    QueueResult: result,
    QueueSid: place.queueSid,
    QueueTime: String(Math.round(member.queuedMs() / 1000)),
  }, signal);
}

function afterEnqueue(ctx: CallContext, v: Enqueue, params: Params, signal: AbortSignal): Outcome {
  if (reasonOf(signal) === 'redirect') return { kind: 'aborted' };
  if (v.action !== undefined) return { kind: 'goto', url: v.action, method: v.method, params };
  return ctx.ended ? { kind: 'aborted' } : { kind: 'next' };
}

async function runWaitApp(ctx: CallContext, v: Enqueue, m: QueueMember, place: QueuePlace, signal: AbortSignal): Promise<RestrictedEnd> {
  const waitUrl = v.waitUrl;
  if (waitUrl === undefined) {
    await whenAborted(signal);
    return { kind: 'aborted' };
  }
  let last = place;
  const params = async (): Promise<Params> => {
    try {
      const now = await abortable(ctx.deps.queues.position(place.queueSid, ctx.callSid), signal);
      if (now !== undefined) last = now;
    } catch (e) {
      if (!isStepAborted(e)) ctx.log.warn('router: queue position unavailable', { error: e as Error });
    }
    return {
      QueueSid: place.queueSid,
      QueuePosition: String(last.position),
      CurrentQueueSize: String(last.size),
      QueueTime: String(Math.round(m.queuedMs() / 1000)),
      AvgQueueTime: String(ctx.registry.averageWaitSeconds(ctx.accountSid, v.queue)),
    };
  };
  while (!signal.aborted) {
    const before = ctx.progressCount;
    const r = await ctx.fetch(waitUrl, v.waitUrlMethod, await params(), signal);
    if (!r.ok) return 'aborted' in r ? { kind: 'aborted' } : { kind: 'fail', failure: r.failure };
    const end = await runRestricted(ctx, r.document, WAIT_VERBS, 'a wait application', signal, params);
    if (end.kind !== 'done') return end;
    // A pass that played nothing (empty document, media that failed) must not spin: wait before the next.
    if (ctx.progressCount === before) await sleep(ctx.deps.limits.queuePollMs, signal);
  }
  return { kind: 'aborted' };
}

/** Claimed by a Dial → Queue: hear the announcement, hand over the leg, wait for the bridge to end. */
async function beBridged(ctx: CallContext, m: QueueMember, signal: AbortSignal): Promise<QueueResult> {
  const claim = await m.claimed.promise;
  if (claim.announce !== undefined && !signal.aborted) {
    const params: Params = {
      QueueSid: m.queueSid,
      QueueTime: String(Math.round(m.queuedMs() / 1000)),
      DequeingCallSid: claim.dequeuerCallSid,
    };
    const r = await ctx.fetch(claim.announce.url, claim.announce.method, params, signal);
    if (r.ok) {
      const end = await runRestricted(ctx, r.document, ANNOUNCE_VERBS, 'a queue announcement', signal, async () => params);
      if (end.kind === 'fail') ctx.reportError(end.failure.code, end.failure.message, end.failure.url);
    } else if (!('aborted' in r)) {
      ctx.reportError(r.failure.code, r.failure.message, r.failure.url);
    }
  }
  if (signal.aborted || ctx.leg.isEnded) {
    m.ready.resolve(undefined);
    return reasonOf(signal) === 'redirect' ? 'redirected' : 'hangup';
  }
  m.ready.resolve(ctx.leg);
  const rel = await released(m, signal, ctx.deps.limits.dialGraceMs);
  if (reasonOf(signal) === 'redirect') return 'redirected';
  return rel.bridged ? 'bridged' : 'error';
}

/**
 * The bridge's end. The dequeuer's bridge watches this call's signal, so it
 * ends promptly after a hang-up or redirect; `graceMs` only bounds a
 * dequeuer that never answers.
 */
async function released(m: QueueMember, signal: AbortSignal, graceMs: number): Promise<BridgeRelease> {
  const done = new AbortController();
  void m.released.promise.then(() => done.abort('done'));
  const gaveUp = whenAborted(signal).then(async () => {
    await sleep(graceMs, done.signal);
    return { bridged: true, durationMs: 0 };
  });
  return Promise.race([m.released.promise, gaveUp]);
}

async function leaveQuietly(ctx: CallContext, queueSid: string): Promise<void> {
  try {
    await ctx.deps.queues.leave(queueSid, ctx.callSid);
  } catch (e) {
    ctx.log.warn('router: leaving the queue failed', { queueSid, error: e as Error });
  }
}
