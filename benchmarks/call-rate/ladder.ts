/**
 * One target's load ladder: a short warm-up, then steps of rising call rate
 * until a step fails (more than 0.1 % of calls failed, or answers could not
 * keep up with the offered rate), the ladder ends, or the run budget is spent.
 */
import { join } from 'node:path';
import type { ChildGroup } from '../lib/children.js';
import { readTreeCpuSeconds } from '../lib/proc-cpu.js';
import { runInviteProbe } from '../lib/sip-probe.js';
import { runSippUac, type SippUacOptions } from '../lib/sipp.js';
import { percentile, round } from '../lib/stats.js';
import { ADDRESSES, probeRate, SERVICE, type LadderSettings } from './plan.js';
import type { RunningTarget } from './targets.js';

type CpuRole = keyof RunningTarget['cpuPids'];

export interface LatencySummary {
  p50: number | undefined;
  p90: number | undefined;
  p99: number | undefined;
  max: number | undefined;
  samples: number;
}

function summarizeLatency(samples: readonly number[], decimals: number): LatencySummary {
  return {
    p50: round(percentile(samples, 50), decimals),
    p90: round(percentile(samples, 90), decimals),
    p99: round(percentile(samples, 99), decimals),
    max: round(percentile(samples, 100), decimals),
    samples: samples.length,
  };
}

export interface StepResult {
  /** Offered rate: SIPp's calls plus the probe's. */
  rateCps: number;
  /** SIPp's share of the rate (the probe places the rest, plan.ts probeRate). */
  sippRateCps: number;
  /** Calls SIPp was asked to place. */
  calls: number;
  created: number;
  successful: number;
  failed: number;
  /** Failed, unfinished and never-placed calls (SIPp's and the probe's) over all calls offered. */
  failureRatio: number;
  /** Rate at which 200s arrived over the step. */
  achievedCps: number | undefined;
  /** INVITE→200 from SIPp's rtd (whole ms, quantized to the kernel tick). */
  inviteTo200Ms: LatencySummary;
  /** INVITE→200 from the hrtime probe calls placed beside the load (fractional ms). */
  probe: LatencySummary & { placed: number; failed: number };
  /** utime+stime spent during the step, per role. */
  cpuSeconds: Partial<Record<CpuRole, number>>;
  cpuSecondsPerCall: Partial<Record<CpuRole, number>>;
  wallSeconds: number;
  passed: boolean;
  /** Why the step failed, when it did. */
  failure?: string;
}

export type LadderEnd = 'failures' | 'rate' | 'ladder-top' | 'time-limit' | 'error';

export interface LadderResult {
  steps: StepResult[];
  end: LadderEnd;
  error?: string;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function readCpu(target: RunningTarget): Partial<Record<CpuRole, number>> {
  const out: Partial<Record<CpuRole, number>> = {};
  for (const [role, pid] of Object.entries(target.cpuPids) as [CpuRole, number][]) {
    const s = readTreeCpuSeconds(pid);
    if (s !== undefined) out[role] = s;
  }
  return out;
}

function uacOptions(
  target: RunningTarget,
  scenarioFile: string,
  workDir: string,
  rate: number,
  calls: number,
  holdMs: number,
  stepSeconds: number,
): SippUacOptions {
  return {
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
    // Room for every call of (hold + 2 s) at the offered rate; beyond that SIPp throttles, which shows as a rate failure.
    concurrentLimit: Math.ceil(rate * (holdMs / 1000 + 2)) + 50,
    holdMs,
    recvTimeoutMs: 5000,
    timeoutSeconds: Math.ceil(stepSeconds * 1.5 + holdMs / 1000 + 8),
    workDir,
  };
}

/**
 * A few calls at low rate prove the path works; then load at `settings.warmUpCps`
 * for `settings.warmUpSeconds`, whose figures are not kept. Every target gets the
 * same: a JIT runtime (our B2BUA) is measured at its steady state, as it runs in
 * production, not in its first thousand calls; a compiled proxy loses nothing.
 */
async function warmUp(group: ChildGroup, target: RunningTarget, scenarioFile: string, workDir: string, settings: LadderSettings): Promise<void> {
  const calls = 20;
  let last = '';
  for (let attempt = 1; attempt <= 3; attempt++) {
    const r = await runSippUac(group, uacOptions(target, scenarioFile, join(workDir, `warmup-${attempt}`), 20, calls, 0, 1));
    if (r.successful === calls) {
      if (settings.warmUpSeconds > 0) {
        const n = settings.warmUpCps * settings.warmUpSeconds;
        await runSippUac(group, uacOptions(target, scenarioFile, join(workDir, 'warmup-load'), settings.warmUpCps, n, settings.holdMs, settings.warmUpSeconds));
        await sleep(settings.settleMs);
      }
      return;
    }
    last = `${r.successful}/${calls} warm-up calls succeeded (${r.failed} failed)`;
    await sleep(1500);
  }
  throw new Error(`warm-up failed: ${last}`);
}

export interface LadderContext {
  group: ChildGroup;
  settings: LadderSettings;
  /** The UAC scenario (benchmarks/call-rate/scenarios/uac.xml). */
  uacScenarioFile: string;
  /** Scratch folder of this target; one sub-folder per SIPp run. */
  workDir: string;
  /** Epoch ms after which no new step starts. */
  deadline: number;
  log: (line: string) => void;
}

export async function runLadder(target: RunningTarget, ctx: LadderContext): Promise<LadderResult> {
  const { group, settings, workDir, deadline, log } = ctx;
  const steps: StepResult[] = [];
  try {
    await warmUp(group, target, ctx.uacScenarioFile, workDir, settings);
    for (const rate of settings.rates) {
      const stepBudgetMs = (settings.stepSeconds * 1.5 + settings.holdMs / 1000 + 20) * 1000;
      if (Date.now() + stepBudgetMs > deadline) return { steps, end: 'time-limit' };
      // The probe places part of the step's calls itself (plan.ts probeRate); SIPp the rest.
      const probeCps = probeRate(rate);
      const sippRate = rate - probeCps;
      const calls = sippRate * settings.stepSeconds;
      const before = readCpu(target);
      const opts = uacOptions(target, ctx.uacScenarioFile, join(workDir, `step-${rate}`), sippRate, calls, settings.holdMs, settings.stepSeconds);
      const probeRun = runInviteProbe({
        localAddress: ADDRESSES.probe.address,
        localPort: ADDRESSES.probe.port,
        targetAddress: target.sipAddress,
        targetPort: target.sipPort,
        service: SERVICE,
        ratePerSecond: probeCps,
        durationMs: settings.stepSeconds * 1000,
        timeoutMs: 5000,
      });
      const [r, probe] = await Promise.all([runSippUac(group, opts), probeRun]);
      const after = readCpu(target);
      const completedCalls = r.successful + (probe.placed - probe.failed);

      const cpuSeconds: Partial<Record<CpuRole, number>> = {};
      const cpuSecondsPerCall: Partial<Record<CpuRole, number>> = {};
      for (const role of Object.keys(after) as CpuRole[]) {
        const b = before[role];
        const a = after[role];
        if (a === undefined || b === undefined) continue;
        cpuSeconds[role] = round(a - b, 3) ?? 0;
        if (completedCalls > 0) cpuSecondsPerCall[role] = round((a - b) / completedCalls, 7) ?? 0;
      }
      const answered = r.answeredAtMs;
      const span = answered.length >= 2 ? (Math.max(...answered) - Math.min(...answered)) / 1000 : 0;
      // SIPp's answers against SIPp's share of the rate (the probe's are counted as failures when missing).
      const achievedCps = span > 0 ? (answered.length - 1) / span : undefined;
      const failureRatio = (calls - r.successful + probe.failed) / (calls + probe.placed);

      let failure: string | undefined;
      if (r.killed) failure = 'SIPp hit the step time limit';
      else if (failureRatio > settings.maxFailureRatio) failure = `${(failureRatio * 100).toFixed(2)} % of calls failed`;
      else if (achievedCps === undefined || achievedCps < sippRate * settings.minAchievedRateRatio)
        failure = `SIPp's answers arrived at ${achievedCps?.toFixed(0) ?? '?'} cps, below ${settings.minAchievedRateRatio * 100} % of its ${sippRate}`;

      const step: StepResult = {
        rateCps: rate,
        sippRateCps: sippRate,
        calls,
        created: r.created,
        successful: r.successful,
        failed: r.failed,
        failureRatio: round(failureRatio, 5) ?? 0,
        achievedCps: round(achievedCps, 1),
        inviteTo200Ms: summarizeLatency(r.inviteTo200Ms, 0),
        probe: { ...summarizeLatency(probe.inviteTo200Ms, 3), placed: probe.placed, failed: probe.failed },
        cpuSeconds,
        cpuSecondsPerCall,
        wallSeconds: round(r.wallSeconds, 1) ?? 0,
        passed: failure === undefined,
        ...(failure === undefined ? {} : { failure }),
      };
      steps.push(step);
      const cpuText = Object.entries(cpuSecondsPerCall)
        .map(([role, s]) => `${role} ${(s * 1000).toFixed(3)} ms/call`)
        .join(', ');
      log(
        `  ${String(rate).padStart(5)} cps (SIPp ${sippRate} + probe ${probeCps}): ${r.successful}/${calls} ok, achieved ${step.achievedCps ?? '?'} cps, ` +
          `INVITE→200 p50 ${step.probe.p50 ?? '?'} ms p99 ${step.probe.p99 ?? '?'} ms (probe, n=${step.probe.samples}; SIPp p99 ${step.inviteTo200Ms.p99 ?? '?'} ms)` +
          (cpuText === '' ? '' : `, ${cpuText}`) +
          (failure === undefined ? '' : `  ✗ ${failure}`),
      );
      if (failure !== undefined) return { steps, end: failureRatio > settings.maxFailureRatio || r.killed ? 'failures' : 'rate' };
      await sleep(settings.settleMs);
    }
    return { steps, end: 'ladder-top' };
  } catch (e) {
    return { steps, end: 'error', error: (e as Error).message };
  }
}
