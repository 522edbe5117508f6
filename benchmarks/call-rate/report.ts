/**
 * Turning ladders into the call-rate report: per-target summary figures, the
 * comparison the issue asks for (our max rate ÷ Kamailio's, our p99 overhead
 * over the direct baseline), JSON for machines and Markdown for people.
 */
import { round } from '../lib/stats.js';
import type { LadderEnd, LadderResult, StepResult } from './ladder.js';
import type { OverloadResult } from './overload.js';
import { LATENCY_REFERENCE_CPS, type LadderSettings } from './plan.js';
import type { TargetName } from './targets.js';

export interface TargetReport {
  name: TargetName;
  label: string;
  status: 'ok' | 'skipped' | 'error';
  /** Why skipped or what went wrong. */
  reason?: string;
  /** Highest rate whose step and all lower steps passed; null when none did. */
  maxSustainedCps: number | null;
  /** What ended the ladder. `ladder-top`: the real maximum is at least maxSustainedCps. */
  limitedBy?: LadderEnd;
  /** INVITE→200 at the reference rate (100 cps), from the hrtime probe; SIPp's coarse rtd beside it. */
  latencyAtReference?: {
    rateCps: number;
    p50Ms: number | undefined;
    p99Ms: number | undefined;
    samples: number;
    sippP50Ms: number | undefined;
    sippP99Ms: number | undefined;
  };
  /** CPU milliseconds per call at the reference rate and at the max sustained rate, by role. */
  cpuMsPerCallAtReference?: Record<string, number>;
  cpuMsPerCallAtMax?: Record<string, number>;
  steps: StepResult[];
  /** 2×, 3× and back to 1× of the base rate (benchmarks/call-rate/overload.ts); absent with --no-overload or no max rate. */
  overload?: OverloadResult;
}

export interface CallRateReport {
  benchmark: 'call-rate';
  quick: boolean;
  startedAt: string;
  finishedAt: string;
  host: Record<string, string | number>;
  settings: LadderSettings;
  targets: TargetReport[];
  comparison: {
    /** Our max sustained rate ÷ Kamailio's. */
    b2buaToKamailioMaxRateRatio: number | null;
    /** p99 INVITE→200 at the reference rate minus the direct baseline's, ms. */
    p99OverheadOverDirectMs: Partial<Record<'kamailio' | 'b2bua', number>>;
    /** Per rate that both proxies ran: p99 (with its sample count), proxy CPU per call, and our ÷ Kamailio's. */
    byRate: RateComparison[];
  };
  notes: string[];
}

export interface RateComparison {
  rateCps: number;
  directP99Ms: number | undefined;
  kamailioP99Ms: number | undefined;
  kamailioSamples: number;
  b2buaP99Ms: number | undefined;
  b2buaSamples: number;
  /** Our p99 ÷ Kamailio's. */
  p99Ratio: number | undefined;
  /** max(0, our p99 − direct p99) ÷ (Kamailio's − direct p99), when the direct step ran and Kamailio's overhead is positive. */
  p99OverheadRatio: number | undefined;
  kamailioCpuMsPerCall: number | undefined;
  b2buaCpuMsPerCall: number | undefined;
  /** Our proxy CPU per call ÷ Kamailio's. */
  cpuRatio: number | undefined;
  kamailioPassed: boolean;
  b2buaPassed: boolean;
}

function compareByRate(direct: TargetReport | undefined, kamailio: TargetReport | undefined, b2bua: TargetReport | undefined): RateComparison[] {
  if (kamailio === undefined || b2bua === undefined) return [];
  const out: RateComparison[] = [];
  for (const k of kamailio.steps) {
    const b = b2bua.steps.find((s) => s.rateCps === k.rateCps);
    if (b === undefined) continue;
    const d = direct?.steps.find((s) => s.rateCps === k.rateCps)?.probe.p99;
    const kp = k.probe.p99;
    const bp = b.probe.p99;
    const kc = k.cpuSecondsPerCall.proxy === undefined ? undefined : k.cpuSecondsPerCall.proxy * 1000;
    const bc = b.cpuSecondsPerCall.proxy === undefined ? undefined : b.cpuSecondsPerCall.proxy * 1000;
    out.push({
      rateCps: k.rateCps,
      directP99Ms: d,
      kamailioP99Ms: kp,
      kamailioSamples: k.probe.samples,
      b2buaP99Ms: bp,
      b2buaSamples: b.probe.samples,
      p99Ratio: kp !== undefined && bp !== undefined && kp > 0 ? round(bp / kp, 2) : undefined,
      // An overhead below the direct baseline's own p99 (noise) counts as none.
      p99OverheadRatio: d !== undefined && kp !== undefined && bp !== undefined && kp - d > 0 ? round(Math.max(0, bp - d) / (kp - d), 2) : undefined,
      kamailioCpuMsPerCall: round(kc, 3),
      b2buaCpuMsPerCall: round(bc, 3),
      cpuRatio: kc !== undefined && bc !== undefined && kc > 0 ? round(bc / kc, 2) : undefined,
      kamailioPassed: k.passed,
      b2buaPassed: b.passed,
    });
  }
  return out;
}

function cpuMs(step: StepResult | undefined): Record<string, number> | undefined {
  if (step === undefined) return undefined;
  const out: Record<string, number> = {};
  for (const [role, s] of Object.entries(step.cpuSecondsPerCall)) out[role] = round(s * 1000, 4) ?? 0;
  return Object.keys(out).length === 0 ? undefined : out;
}

export function summarizeTarget(name: TargetName, label: string, ladder: LadderResult): TargetReport {
  const passedPrefix: StepResult[] = [];
  for (const s of ladder.steps) {
    if (!s.passed) break;
    passedPrefix.push(s);
  }
  const max = passedPrefix.at(-1);
  const ref = ladder.steps.find((s) => s.rateCps === LATENCY_REFERENCE_CPS);
  const report: TargetReport = {
    name,
    label,
    status: ladder.end === 'error' ? 'error' : 'ok',
    maxSustainedCps: max?.rateCps ?? null,
    limitedBy: ladder.end,
    steps: ladder.steps,
  };
  if (ladder.error !== undefined) report.reason = ladder.error;
  if (ref !== undefined) {
    report.latencyAtReference = {
      rateCps: ref.rateCps,
      p50Ms: ref.probe.p50,
      p99Ms: ref.probe.p99,
      samples: ref.probe.samples,
      sippP50Ms: ref.inviteTo200Ms.p50,
      sippP99Ms: ref.inviteTo200Ms.p99,
    };
  }
  const refCpu = cpuMs(ref);
  if (refCpu !== undefined) report.cpuMsPerCallAtReference = refCpu;
  const maxCpu = cpuMs(max);
  if (maxCpu !== undefined) report.cpuMsPerCallAtMax = maxCpu;
  return report;
}

export function skippedTarget(name: TargetName, label: string, reason: string): TargetReport {
  return { name, label, status: 'skipped', reason, maxSustainedCps: null, steps: [] };
}

export function compareTargets(targets: readonly TargetReport[]): CallRateReport['comparison'] {
  const by = (n: TargetName): TargetReport | undefined => targets.find((t) => t.name === n && t.status === 'ok');
  const direct = by('direct');
  const kamailio = by('kamailio');
  const b2bua = by('b2bua');
  const ratio =
    b2bua?.maxSustainedCps != null && kamailio?.maxSustainedCps != null && kamailio.maxSustainedCps > 0
      ? (round(b2bua.maxSustainedCps / kamailio.maxSustainedCps, 3) ?? null)
      : null;
  const overhead: Partial<Record<'kamailio' | 'b2bua', number>> = {};
  const base = direct?.latencyAtReference?.p99Ms;
  for (const [key, t] of [['kamailio', kamailio], ['b2bua', b2bua]] as const) {
    const p99 = t?.latencyAtReference?.p99Ms;
    if (base !== undefined && p99 !== undefined) overhead[key] = round(p99 - base, 3) ?? 0;
  }
  return { b2buaToKamailioMaxRateRatio: ratio, p99OverheadOverDirectMs: overhead, byRate: compareByRate(direct, kamailio, b2bua) };
}

const fmt = (v: number | undefined | null, unit = ''): string => (v === undefined || v === null ? '–' : `${v}${unit}`);

function maxText(t: TargetReport): string {
  if (t.status === 'skipped') return 'skipped';
  if (t.maxSustainedCps === null) return t.status === 'error' ? 'error' : 'none';
  return t.limitedBy === 'ladder-top' || t.limitedBy === 'time-limit' ? `≥ ${t.maxSustainedCps}` : String(t.maxSustainedCps);
}

function cpuText(m: Record<string, number> | undefined, role: string): string {
  const v = m?.[role];
  return v === undefined ? '–' : v.toFixed(3);
}

export function renderMarkdown(r: CallRateReport): string {
  const out: string[] = [];
  out.push(`# Call-rate benchmark${r.quick ? ' (quick smoke run)' : ''}`, '');
  out.push(`Run ${r.startedAt} → ${r.finishedAt}. Host: ${Object.entries(r.host).map(([k, v]) => `${k} ${v}`).join(', ')}.`, '');
  out.push(
    `Each step places calls at a fixed rate for ${r.settings.stepSeconds} s (INVITE with SDP → 200 → ACK → ` +
      `${r.settings.holdMs} ms → BYE). A step passes when at most ${r.settings.maxFailureRatio * 100} % of its calls fail ` +
      `and answers keep up with ≥ ${r.settings.minAchievedRateRatio * 100} % of the offered rate. Rates tried: ${r.settings.rates.join(', ')} cps.`,
    '',
  );
  out.push('## Summary', '');
  out.push(
    `| target | max sustained cps | ended by | INVITE→200 p50 @${LATENCY_REFERENCE_CPS} cps | p99 @${LATENCY_REFERENCE_CPS} cps | proxy CPU ms/call @${LATENCY_REFERENCE_CPS} | rtpengine CPU ms/call @${LATENCY_REFERENCE_CPS} | proxy CPU ms/call @max |`,
  );
  out.push('|---|---|---|---|---|---|---|---|');
  for (const t of r.targets) {
    const lat = t.latencyAtReference;
    out.push(
      `| ${t.name} — ${t.label} | ${maxText(t)} | ${t.status === 'ok' ? (t.limitedBy ?? '–') : (t.reason ?? t.status)} | ` +
        `${fmt(lat?.p50Ms, ' ms')} | ${fmt(lat?.p99Ms, ' ms')} | ${cpuText(t.cpuMsPerCallAtReference, 'proxy')} | ` +
        `${cpuText(t.cpuMsPerCallAtReference, 'rtpengine')} | ${cpuText(t.cpuMsPerCallAtMax, 'proxy')} |`,
    );
  }
  out.push('');
  const c = r.comparison;
  out.push(`- Our B2BUA's max rate ÷ Kamailio's: ${fmt(c.b2buaToKamailioMaxRateRatio)}`);
  out.push(`- p99 INVITE→200 overhead over direct at ${LATENCY_REFERENCE_CPS} cps: Kamailio ${fmt(c.p99OverheadOverDirectMs.kamailio, ' ms')}, our B2BUA ${fmt(c.p99OverheadOverDirectMs.b2bua, ' ms')}`);
  out.push('');
  if (c.byRate.length > 0) {
    out.push('### Our B2BUA against Kamailio, rate by rate (same run)', '');
    out.push('| cps | direct p99 ms | Kamailio p99 ms (n) | ours p99 ms (n) | p99 ratio | overhead ratio | Kamailio CPU ms/call | ours CPU ms/call | CPU ratio | passed (K / ours) |');
    out.push('|---|---|---|---|---|---|---|---|---|---|');
    for (const x of c.byRate) {
      out.push(
        `| ${x.rateCps} | ${fmt(x.directP99Ms)} | ${fmt(x.kamailioP99Ms)} (${x.kamailioSamples}) | ${fmt(x.b2buaP99Ms)} (${x.b2buaSamples}) | ${fmt(x.p99Ratio)} | ` +
          `${fmt(x.p99OverheadRatio)} | ${fmt(x.kamailioCpuMsPerCall)} | ${fmt(x.b2buaCpuMsPerCall)} | ${fmt(x.cpuRatio)} | ${x.kamailioPassed ? 'yes' : 'no'} / ${x.b2buaPassed ? 'yes' : 'no'} |`,
      );
    }
    out.push('', 'Overhead ratio: max(0, ours − direct) ÷ (Kamailio − direct), p99 at the same rate; – when Kamailio was not above direct.', '');
  }
  for (const t of r.targets) {
    out.push(`## ${t.name}: ${t.label}`, '');
    if (t.status === 'skipped') {
      out.push(`Skipped: ${t.reason ?? ''}`, '');
      continue;
    }
    if (t.reason !== undefined) out.push(`Error: ${t.reason}`, '');
    if (t.steps.length === 0) continue;
    out.push('| cps | SIPp calls | ok | failed | failure % | achieved cps | p50 ms | p90 ms | p99 ms | max ms | probe n | SIPp p99 ms | CPU ms/call | result |');
    out.push('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
    for (const s of t.steps) {
      const cpu = Object.entries(s.cpuSecondsPerCall)
        .map(([role, v]) => `${role} ${(v * 1000).toFixed(3)}`)
        .join(', ');
      out.push(
        `| ${s.rateCps} | ${s.calls} | ${s.successful} | ${s.failed} | ${(s.failureRatio * 100).toFixed(2)} | ${fmt(s.achievedCps)} | ` +
          `${fmt(s.probe.p50)} | ${fmt(s.probe.p90)} | ${fmt(s.probe.p99)} | ${fmt(s.probe.max)} | ${s.probe.samples} | ${fmt(s.inviteTo200Ms.p99)} | ` +
          `${cpu === '' ? '–' : cpu} | ${s.passed ? 'pass' : `fail: ${s.failure ?? ''}`} |`,
      );
    }
    out.push('');
    const o = t.overload;
    if (o !== undefined) {
      out.push(`Overload: ${o.baseCps} cps × 2, × 3, then × 1 at once (recovery), ${o.stepSeconds} s each.${o.error === undefined ? '' : ` Error: ${o.error}`}`, '');
      out.push('| offered | cps | answered | answered cps | of base | 503 | ACK-timeout teardowns | INVITE retransmissions | other failures |');
      out.push('|---|---|---|---|---|---|---|---|---|');
      for (const s of o.steps) {
        out.push(
          `| ${s.multiplier}×${s.multiplier === 1 ? ' (recovery)' : ''} | ${s.rateCps} | ${s.answered}/${s.calls} | ${s.answeredCps} | ${(s.answeredOfBase * 100).toFixed(0)} % | ` +
            `${s.refused503} | ${s.ackTimeoutTeardowns} | ${s.inviteRetransmissions} | ${s.otherFailures}${s.killed ? ' (SIPp killed)' : ''} |`,
        );
      }
      out.push('');
    }
  }
  if (r.notes.length > 0) {
    out.push('## Notes', '');
    for (const n of r.notes) out.push(`- ${n}`);
    out.push('');
  }
  return out.join('\n');
}
