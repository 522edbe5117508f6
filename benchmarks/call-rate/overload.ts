/**
 * Overload steps of the call-rate benchmark: after a target's ladder, offer
 * 2× and 3× its max sustained rate, then drop back to 1× at once (recovery).
 * The figures are the ones overload is judged by: answered calls per second
 * (goodput), 503s (refusals), INVITEs retransmitted, and answered calls the
 * target tore down because it never saw the ACK (RFC 3261 §13.3.1.4). A target
 * that sheds load on purpose keeps answered cps near its max and tears down
 * nothing; one that collapses answers less the more it is offered.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildGroup } from '../lib/children.js';
import { runSippUac } from '../lib/sipp.js';
import { round } from '../lib/stats.js';
import { ADDRESSES, SERVICE } from './plan.js';
import type { RunningTarget } from './targets.js';

/** Offered rate as multiples of the max sustained rate; the last one (1×, right after 3×) is the recovery step. */
export const OVERLOAD_MULTIPLIERS = [2, 3, 1] as const;

export interface OverloadStep {
  /** Multiple of the base rate offered. */
  multiplier: number;
  rateCps: number;
  calls: number;
  /** 200s received. */
  answered: number;
  /** Answered calls per second: answered ÷ the longer of the step's length and the span from first to last answer. */
  answeredCps: number;
  /** Answered ÷ base rate: the goal is ≥ 0.9 at 2× and ≥ 0.8 at 3×. */
  answeredOfBase: number;
  refused503: number;
  /** Answered calls the target ended with BYE during the hold (its ACK timer fired). */
  ackTimeoutTeardowns: number;
  inviteRetransmissions: number;
  /** Calls that ended neither answered nor with 503 (timeouts, other statuses, unfinished). */
  otherFailures: number;
  killed: boolean;
}

export interface OverloadResult {
  baseCps: number;
  stepSeconds: number;
  steps: OverloadStep[];
  error?: string;
}

export interface OverloadContext {
  group: ChildGroup;
  /** scenarios/uac-overload.xml; HOLD_MS is replaced before use. */
  scenarioTemplate: string;
  workDir: string;
  baseCps: number;
  stepSeconds: number;
  holdMs: number;
  settleMs: number;
  log: (line: string) => void;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Sum of the -trace_counts columns `<index>_<what>` (a message may appear more than once in the scenario). */
function countOf(counts: Record<string, number>, what: string): number {
  let n = 0;
  for (const [k, v] of Object.entries(counts)) if (k.replace(/^\d+_/, '') === what) n += v;
  return n;
}

export async function runOverload(target: RunningTarget, ctx: OverloadContext): Promise<OverloadResult> {
  const scenarioFile = join(ctx.workDir, 'uac-overload.xml');
  writeFileSync(scenarioFile, readFileSync(ctx.scenarioTemplate, 'utf8').replaceAll('HOLD_MS', String(Math.max(1, ctx.holdMs))));
  const result: OverloadResult = { baseCps: ctx.baseCps, stepSeconds: ctx.stepSeconds, steps: [] };
  try {
    for (const multiplier of OVERLOAD_MULTIPLIERS) {
      const rate = ctx.baseCps * multiplier;
      const calls = rate * ctx.stepSeconds;
      const r = await runSippUac(ctx.group, {
        scenarioFile,
        remoteAddress: target.sipAddress,
        remotePort: target.sipPort,
        service: SERVICE,
        address: ADDRESSES.uac.address,
        port: ADDRESSES.uac.port,
        mediaPort: ADDRESSES.uac.mediaPort,
        controlPort: ADDRESSES.uac.controlPort,
        rate,
        calls,
        concurrentLimit: Math.ceil(rate * (ctx.holdMs / 1000 + 6)) + 50,
        holdMs: ctx.holdMs,
        recvTimeoutMs: 5000,
        timeoutSeconds: Math.ceil(ctx.stepSeconds * 1.5 + ctx.holdMs / 1000 + 10),
        workDir: join(ctx.workDir, `overload-${multiplier}x`),
        traceCounts: true,
      });
      const answered = r.answeredAtMs.length;
      const refused503 = countOf(r.messageCounts, '503_Recv');
      const torn = countOf(r.messageCounts, 'BYE_Recv');
      // Over the time answers actually came in, at least the step's length: SIPp places calls late when it cannot keep up.
      const span = r.answeredAtMs.length >= 2 ? (Math.max(...r.answeredAtMs) - Math.min(...r.answeredAtMs)) / 1000 : 0;
      const answeredCps = answered / Math.max(ctx.stepSeconds, span);
      const step: OverloadStep = {
        multiplier,
        rateCps: rate,
        calls,
        answered,
        answeredCps: round(answeredCps, 1) ?? 0,
        answeredOfBase: round(answeredCps / ctx.baseCps, 3) ?? 0,
        refused503,
        ackTimeoutTeardowns: torn,
        inviteRetransmissions: countOf(r.messageCounts, 'INVITE_Retrans'),
        otherFailures: Math.max(0, calls - answered - refused503),
        killed: r.killed,
      };
      result.steps.push(step);
      ctx.log(
        `  overload ${multiplier}× (${rate} cps${multiplier === 1 ? ', recovery' : ''}): answered ${step.answered}/${calls} = ${step.answeredCps} cps ` +
          `(${(step.answeredOfBase * 100).toFixed(0)} % of ${ctx.baseCps}), 503 ${refused503}, ACK-timeout teardowns ${torn}, ` +
          `INVITE retransmissions ${step.inviteRetransmissions}, other failures ${step.otherFailures}${r.killed ? ', SIPp killed at its time limit' : ''}`,
      );
      // No settle between 3× and the recovery step: load drops at once, as it would in life.
      if (multiplier === 3) continue;
      await sleep(ctx.settleMs);
    }
  } catch (e) {
    result.error = (e as Error).message;
  }
  return result;
}
