/** Small statistics helpers shared by the benchmarks. */

/** Nearest-rank percentile (p in 0..100) of unsorted samples; undefined when empty. */
export function percentile(samples: readonly number[], p: number): number | undefined {
  if (samples.length === 0) return undefined;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

/** Round to a fixed number of decimals, keeping undefined. */
export function round(v: number | undefined, decimals = 3): number | undefined {
  if (v === undefined || !Number.isFinite(v)) return undefined;
  const f = 10 ** decimals;
  return Math.round(v * f) / f;
}
