/**
 * Dial → Queue: take the front call of the account's named queue
 * (CallQueues.dequeueFront, atomic in Redis), find it among the calls waiting
 * on this router, stop its wait application, let it hear the `<Queue url>`
 * announcement, and bridge the two until either hangs up or `timeLimit`.
 * An empty queue is waited on (re-checked every `queuePollMs`, at once when a
 * call joins here) until the Dial `timeout`.
 *
 * A dequeued call that does not wait on this router is skipped (logged) and
 * the next one is taken: a region has one active signaling node, so such a
 * member is left over from a node that died (its call is no longer running
 * an application anywhere); there is no cross-node handoff.
 */
import type { Params } from '../../webhooks/signature.js';
import type { CallLeg } from '../leg.js';
import type { Dial, DialTarget } from '../twiml-types.js';
import { abortable, isStepAborted, linkSignals } from './abort.js';
import { bridgeLegs } from './bridge.js';
import type { CallContext } from './context.js';
import { afterDial, type DialCallStatus } from './dial-common.js';
import type { QueueMember } from './queue-registry.js';
import { EXEC_ERRORS, type Outcome } from './types.js';

export async function runDialQueue(
  ctx: CallContext,
  v: Dial,
  target: Extract<DialTarget, { kind: 'queue' }>,
  signal: AbortSignal,
): Promise<Outcome> {
  ctx.markProgress();
  const deadline = Date.now() + v.timeout * 1000;
  let status: DialCallStatus = 'no-answer';
  const params: Params = {};

  while (!signal.aborted) {
    let front: Awaited<ReturnType<typeof ctx.deps.queues.dequeueFront>>;
    try {
      front = await abortable(ctx.deps.queues.dequeueFront(ctx.accountSid, target.name), signal);
    } catch (e) {
      if (isStepAborted(e)) break;
      ctx.reportError(EXEC_ERRORS.INTERNAL_FAILURE, `dequeue failed: ${(e as Error).message}`, '');
      status = 'failed';
      break;
    }
    if (front === undefined) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      await ctx.registry.waitForMember(ctx.accountSid, target.name, Math.min(left, ctx.deps.limits.queuePollMs), signal);
      continue;
    }
    const member = ctx.registry.get(front.callSid);
    if (member === undefined) {
      ctx.log.warn('router: dequeued a call that does not wait on this router (left over from another node); skipping it', {
        queue: target.name,
        dequeued: front.callSid,
      });
      continue;
    }
    const claimed = member.claim({
      dequeuerCallSid: ctx.callSid,
      announce: target.url === undefined ? undefined : { url: target.url, method: target.method },
      waitedMs: front.waitedMs,
    });
    if (!claimed) continue; // it is leaving (hung up, redirected): take the next one
    ctx.registry.remove(member); // no longer waiting: it is this call's now
    const leg = await waitReady(member, signal);
    if (leg === undefined) {
      member.released.resolve({ bridged: false, durationMs: 0 });
      continue;
    }
    params['DialCallSid'] = member.callSid;
    params['QueueSid'] = front.queueSid;
    const both = linkSignals(signal, member.signal);
    let bridged = false;
    let durationMs = 0;
    try {
      const b = await bridgeLegs(ctx.leg, leg, v.timeLimit * 1000, both.signal);
      durationMs = b.durationMs;
      bridged = b.end !== 'failed';
      if (!bridged) ctx.reportError(EXEC_ERRORS.INTERNAL_FAILURE, `bridge failed: ${b.error?.message ?? 'unknown'}`, '');
    } finally {
      both.dispose();
      member.released.resolve({ bridged, durationMs });
    }
    status = bridged ? 'completed' : 'failed';
    if (bridged) params['DialCallDuration'] = String(Math.round(durationMs / 1000));
    break;
  }
  if (signal.aborted && params['DialCallSid'] === undefined) status = 'canceled';
  params['DialCallStatus'] = status;
  return afterDial(ctx, v, params, signal);
}

/** The member's leg once its announcement has played; undefined when it left or this call gave up. */
async function waitReady(member: QueueMember, signal: AbortSignal): Promise<CallLeg | undefined> {
  try {
    return await abortable(member.ready.promise, signal);
  } catch {
    return undefined;
  }
}
