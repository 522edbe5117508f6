/**
 * Addresses, ports and load ladders of the call-rate benchmark. Everything
 * lives in 127.0.7.0/24 (and Redis on 127.0.0.1:6392) so the benchmark can
 * run beside the embedded mesh and other tests.
 */

export const ADDRESSES = {
  b2bua: { address: '127.0.7.1', port: 5060 },
  uac: { address: '127.0.7.2', port: 5070, mediaPort: 6000, controlPort: 18793 },
  uas: { address: '127.0.7.3', port: 5090, mediaPort: 6002, controlPort: 18792 },
  kamailio: { address: '127.0.7.4', port: 5060 },
  /** benchmarks/lib/sip-probe.ts: the fine-grained INVITE→200 timer. */
  probe: { address: '127.0.7.5', port: 5072 },
  rtpengine: { id: 'bench-media-1', address: '127.0.7.11', ngPort: 2223, portMin: 40000, portMax: 59999 },
  redis: { host: '127.0.0.1', port: 6392 },
} as const;

/** Dialed number; the B2BUA routes the `+1555` prefix to the UAS. */
export const SERVICE = '+15551000';
export const ROUTE_PREFIX = '+1555';

export interface LadderSettings {
  /** Call rates to try, in calls per second, ascending. */
  rates: number[];
  /** How long each step places calls. */
  stepSeconds: number;
  /** Pause between ACK and BYE. */
  holdMs: number;
  /** A step fails when more than this fraction of its calls fail. Issue: 0.1 %. */
  maxFailureRatio: number;
  /** A step fails when answers arrive slower than this fraction of the offered rate. */
  minAchievedRateRatio: number;
  /** Pause after each step so timewait state and retransmissions drain. */
  settleMs: number;
  /** Stop all remaining work after this many seconds of total run time. */
  runBudgetSeconds: number;
  /** Load before the first step, figures not kept (ladder.ts warmUp): seconds, 0 for none. */
  warmUpSeconds: number;
  /** Its rate. */
  warmUpCps: number;
}

export const FULL_LADDER: LadderSettings = {
  rates: [50, 100, 200, 300, 400, 600, 800, 1000, 1250, 1500, 2000, 2500, 3000],
  stepSeconds: 12,
  holdMs: 1000,
  maxFailureRatio: 0.001,
  minAchievedRateRatio: 0.95,
  settleMs: 2000,
  runBudgetSeconds: 25 * 60,
  warmUpSeconds: 10,
  warmUpCps: 200,
};

/** Smoke check: a few minutes for all three targets (the warm-up included). */
export const QUICK_LADDER: LadderSettings = {
  rates: [50, 100, 200],
  stepSeconds: 4,
  holdMs: 500,
  maxFailureRatio: 0.001,
  minAchievedRateRatio: 0.95,
  settleMs: 1000,
  runBudgetSeconds: 4 * 60,
  warmUpSeconds: 10,
  warmUpCps: 200,
};

/**
 * Probe calls per second within each step: half of the step's rate, at most
 * 100/s; SIPp places the rest, so the target is offered exactly the step's
 * rate. With 12 s steps that is 300 samples at 50 cps, 600 at 100 cps and
 * 1200 from 200 cps up, so a p99 rests on several samples (it was the
 * second-largest of 120 when the probe ran a tenth of the rate beside SIPp).
 */
export function probeRate(stepRate: number): number {
  return Math.min(100, Math.max(1, Math.round(stepRate / 2)));
}

/** The step whose latency the report quotes (issue: "INVITE→200 p50/p99 at 100 cps"). */
export const LATENCY_REFERENCE_CPS = 100;
