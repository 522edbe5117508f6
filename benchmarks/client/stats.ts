/** Pure helpers of the browser-client benchmark (benchmarks/client/run.ts). */
import { percentile, round } from '../lib/stats.js';

/** CPU seconds per call-second: CPU used over a window in which `calls` calls were up for `seconds`. */
export function cpuPerCallSecond(cpuSeconds: number, calls: number, seconds: number): number | undefined {
  if (!(calls > 0) || !(seconds > 0) || !Number.isFinite(cpuSeconds) || cpuSeconds < 0) return undefined;
  return cpuSeconds / (calls * seconds);
}

/** Lost ÷ (received + lost), 0 when nothing was expected. */
export function lossFraction(received: number, lost: number): number {
  const expected = received + Math.max(0, lost);
  return expected === 0 ? 0 : Math.max(0, lost) / expected;
}

/** a ÷ b, undefined when either is missing or b is 0. */
export function ratio(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined || b === undefined || b === 0) return undefined;
  return round(a / b, 2);
}

export interface LatencySummary {
  n: number;
  p50: number | undefined;
  p95: number | undefined;
  max: number | undefined;
}

export function summarize(samples: readonly number[]): LatencySummary {
  return { n: samples.length, p50: round(percentile(samples, 50), 1), p95: round(percentile(samples, 95), 1), max: round(samples.length === 0 ? undefined : Math.max(...samples), 1) };
}

/** The largest K of a ladder reached with every step up to it passing (undefined if the first step failed). */
export function maxPassing(steps: readonly { k: number; pass: boolean }[]): number | undefined {
  let best: number | undefined;
  for (const s of [...steps].sort((a, b) => a.k - b.k)) {
    if (!s.pass) break;
    best = s.k;
  }
  return best;
}
