/**
 * Dial with Number/Sip/Client targets: ring every target at once through the
 * LegDialer (a Client target is one attempt that rings each of the client's
 * registrations: the dialer forks it); the first to answer wins and the
 * others are cancelled. The
 * winner hears its `sendDigits` and whisper (`url`), then is bridged with the
 * caller until either hangs up or `timeLimit` passes. `action` gets
 * DialCallStatus (completed | busy | no-answer | failed | canceled),
 * DialCallSid and DialCallDuration; without it the document goes on.
 * Dial → Queue is in dial-queue.ts.
 *
 * Not implemented: `record` (the leg contract records one party only; a
 * two-party Dial recording needs a mixed recording) — logged and ignored.
 */
import type { Params } from '../../webhooks/signature.js';
import type { CallLeg, DialOutcome } from '../leg.js';
import type { Dial, DialTarget } from '../twiml-types.js';
import { linkSignals, sleep, type Linked } from './abort.js';
import { bridgeLegs } from './bridge.js';
import type { CallContext } from './context.js';
import { afterDial, hangupQuietly, type DialCallStatus } from './dial-common.js';
import { runDialQueue } from './dial-queue.js';
import { runRestricted, WHISPER_VERBS } from './restricted.js';
import { EXEC_ERRORS, type Outcome } from './types.js';


type PhoneTarget = Exclude<DialTarget, { kind: 'queue' }>;

export async function runDial(ctx: CallContext, v: Dial, signal: AbortSignal): Promise<Outcome> {
  await ctx.ensureAnswered();
  const first = v.targets[0];
  if (first !== undefined && first.kind === 'queue') return runDialQueue(ctx, v, first, signal);
  if (v.record !== 'do-not-record') ctx.log.warn('router: Dial record is not supported; the call is not recorded', { record: v.record });
  ctx.markProgress();

  const from = v.callerId ?? firstValue(ctx.params['From']) ?? '';
  const targets = v.targets.filter((t): t is PhoneTarget => t.kind !== 'queue');
  const rang = await ringAll(ctx, v, targets, from, signal);

  let status: DialCallStatus;
  const params: Params = {};
  if ('status' in rang) {
    status = rang.status;
  } else {
    const child = rang.leg;
    params['DialCallSid'] = child.callSid;
    const connected = await prepareChild(ctx, child, rang.target, from, signal);
    if (!connected) {
      status = signal.aborted ? 'canceled' : 'no-answer';
      await hangupQuietly(child);
    } else {
      const b = await bridgeLegs(ctx.leg, child, v.timeLimit * 1000, signal);
      if (b.end === 'failed') {
        ctx.reportError(EXEC_ERRORS.INTERNAL_FAILURE, `bridge failed: ${b.error?.message ?? 'unknown'}`, '');
        status = 'failed';
      } else {
        status = 'completed';
        params['DialCallDuration'] = String(Math.round(b.durationMs / 1000));
      }
      // The child never outlives the Dial: the caller left, the time limit passed, or the call goes elsewhere.
      if (b.end !== 'b-ended') await hangupQuietly(child);
    }
  }
  params['DialCallStatus'] = status;
  return afterDial(ctx, v, params, signal);
}

type Rang = { leg: CallLeg; target: PhoneTarget } | { status: DialCallStatus };

/** Ring all targets; the first answer wins, the others are cancelled (and hung up if they answer late). */
function ringAll(ctx: CallContext, v: Dial, targets: PhoneTarget[], from: string, signal: AbortSignal): Promise<Rang> {
  return new Promise<Rang>((resolve) => {
    let settled = false;
    const statuses: DialCallStatus[] = [];
    // Each attempt has its own signal (so cancelling the losers cannot touch the winner).
    const attempts: { target: PhoneTarget; ring: Linked }[] = targets.map((target) => ({ target, ring: linkSignals(signal) }));
    const guard = linkSignals(signal);
    const finish = (r: Rang): void => {
      if (settled) return;
      settled = true;
      guard.abort('done');
      guard.dispose();
      resolve(r);
    };
    // The dialer has its own ring timeout; this guard only covers a dialer that never answers.
    void sleep(v.timeout * 1000 + ctx.deps.limits.dialGraceMs, guard.signal).then((full) => {
      if (settled) return;
      for (const a of attempts) a.ring.abort('done');
      finish({ status: signal.aborted ? 'canceled' : full ? 'no-answer' : 'canceled' });
    });
    let remaining = attempts.length;
    for (const a of attempts) {
      const req = {
        parent: ctx.leg,
        to: targetAddress(a.target),
        from,
        timeoutSeconds: v.timeout,
        signal: a.ring.signal,
        ...(a.target.kind === 'client' ? { clientParameters: a.target.parameters } : {}),
      };
      let p: Promise<DialOutcome>;
      try {
        p = ctx.deps.dialer.dial(req);
      } catch (e) {
        p = Promise.reject(e);
      }
      p.catch((e: unknown): DialOutcome => {
        ctx.log.warn('router: dial attempt failed', { to: req.to, error: e as Error });
        return { status: 'failed' };
      }).then((o) => {
        a.ring.dispose();
        remaining -= 1;
        if (o.status === 'answered') {
          if (settled || signal.aborted) {
            void hangupQuietly(o.leg);
          } else {
            for (const other of attempts) if (other !== a) other.ring.abort('done');
            finish({ leg: o.leg, target: a.target });
          }
        } else {
          statuses.push(o.status);
        }
        if (remaining === 0) finish({ status: signal.aborted ? 'canceled' : combine(statuses) });
      }, () => {});
    }
    if (attempts.length === 0) finish({ status: 'failed' });
  });
}

/** The status of a Dial none of whose targets answered. */
function combine(statuses: DialCallStatus[]): DialCallStatus {
  if (statuses.length > 0 && statuses.every((s) => s === statuses[0])) return statuses[0]!;
  if (statuses.includes('no-answer')) return 'no-answer';
  if (statuses.includes('busy')) return 'busy';
  return 'failed';
}

/** Digits and whisper to the answered party; false when it should not be connected. */
async function prepareChild(ctx: CallContext, child: CallLeg, target: PhoneTarget, from: string, signal: AbortSignal): Promise<boolean> {
  const step = linkSignals(signal);
  const onChildEnd = (): void => step.abort('ended');
  void child.ended.then(onChildEnd, onChildEnd);
  try {
    if (target.kind === 'number' && target.sendDigits !== undefined) {
      try {
        await child.sendDigits(target.sendDigits, step.signal);
      } catch (e) {
        if (!step.signal.aborted) ctx.reportError(EXEC_ERRORS.INTERNAL_FAILURE, `sending digits failed: ${(e as Error).message}`, '');
      }
    }
    if (target.url !== undefined && !step.signal.aborted) {
      const childCtx = ctx.forLeg(child, {
        ...ctx.params,
        CallSid: child.callSid,
        ParentCallSid: ctx.callSid,
        From: from,
        To: targetAddress(target),
        CallStatus: 'in-progress',
        Direction: 'outbound-dial',
      }, step.signal);
      const r = await childCtx.fetch(target.url, target.method, {}, step.signal);
      if (!r.ok) {
        if (!('aborted' in r)) ctx.reportError(r.failure.code, r.failure.message, r.failure.url);
        return false;
      }
      const end = await runRestricted(childCtx, r.document, WHISPER_VERBS, 'a Dial whisper', step.signal, async () => ({}));
      if (end.kind === 'fail') ctx.reportError(end.failure.code, end.failure.message, end.failure.url);
      if (end.kind !== 'done') return false;
    }
    return !step.signal.aborted && !child.isEnded;
  } finally {
    step.dispose();
  }
}

/** What the dialer is asked to ring, and the child call's `To`. */
function targetAddress(t: PhoneTarget): string {
  if (t.kind === 'number') return t.number;
  if (t.kind === 'client') return `client:${t.identity}`;
  return t.uri;
}

function firstValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
