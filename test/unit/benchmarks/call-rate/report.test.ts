import { describe, expect, it } from 'vitest';
import type { StepResult } from '../../../../benchmarks/call-rate/ladder.js';
import { probeRate } from '../../../../benchmarks/call-rate/plan.js';
import { compareTargets, renderMarkdown, summarizeTarget, type CallRateReport } from '../../../../benchmarks/call-rate/report.js';

const lat = (p99: number, samples: number) => ({ p50: 1, p90: 2, p99, max: p99 + 1, samples });

function step(rateCps: number, p99: number, proxyCpuS: number | undefined, passed = true): StepResult {
  return {
    rateCps,
    sippRateCps: rateCps - probeRate(rateCps),
    calls: 10,
    created: 10,
    successful: 10,
    failed: 0,
    failureRatio: 0,
    achievedCps: rateCps,
    inviteTo200Ms: lat(p99, 10),
    probe: { ...lat(p99, probeRate(rateCps) * 12), placed: probeRate(rateCps) * 12, failed: 0 },
    cpuSeconds: {},
    cpuSecondsPerCall: proxyCpuS === undefined ? {} : { proxy: proxyCpuS },
    wallSeconds: 12,
    passed,
  };
}

describe('call-rate probe share', () => {
  it('is half the step rate, at least 1 and at most 100 calls/s', () => {
    expect(probeRate(1)).toBe(1);
    expect(probeRate(50)).toBe(25);
    expect(probeRate(100)).toBe(50);
    expect(probeRate(200)).toBe(100);
    expect(probeRate(1000)).toBe(100);
  });
});

describe('call-rate comparison rate by rate', () => {
  const direct = summarizeTarget('direct', 'd', { steps: [step(100, 1, undefined), step(200, 2, undefined)], end: 'ladder-top' });
  const kamailio = summarizeTarget('kamailio', 'k', { steps: [step(100, 5, 0.0008), step(200, 4, 0.0006), step(300, 9, 0.0005, false)], end: 'failures' });
  const b2bua = summarizeTarget('b2bua', 'b', { steps: [step(100, 9, 0.0016), step(200, 1.5, 0.0006)], end: 'failures' });

  it('gives both p99s with their sample counts, their ratio, the overhead ratio and the CPU ratio at each shared rate', () => {
    const c = compareTargets([direct, kamailio, b2bua]);
    expect(c.byRate.map((x) => x.rateCps)).toEqual([100, 200]);
    const at100 = c.byRate[0]!;
    expect(at100).toMatchObject({ kamailioP99Ms: 5, b2buaP99Ms: 9, kamailioSamples: 600, b2buaSamples: 600, p99Ratio: 1.8, p99OverheadRatio: 2, cpuRatio: 2 });
    expect(at100.kamailioCpuMsPerCall).toBeCloseTo(0.8);
    // Ours below the direct baseline's own p99 counts as no overhead, not a negative one.
    expect(c.byRate[1]!.p99OverheadRatio).toBe(0);
  });

  it('renders the comparison table with sample counts', () => {
    const report: CallRateReport = {
      benchmark: 'call-rate',
      quick: false,
      startedAt: 's',
      finishedAt: 'f',
      host: {},
      settings: { rates: [100, 200], stepSeconds: 12, holdMs: 1000, maxFailureRatio: 0.001, minAchievedRateRatio: 0.95, settleMs: 0, runBudgetSeconds: 60, warmUpSeconds: 0, warmUpCps: 0 },
      targets: [direct, kamailio, b2bua],
      comparison: compareTargets([direct, kamailio, b2bua]),
      notes: [],
    };
    const md = renderMarkdown(report);
    expect(md).toContain('| 100 | 1 | 5 (600) | 9 (600) | 1.8 | 2 |');
  });
});
