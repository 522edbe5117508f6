/**
 * The arithmetic of tracker measurements, without Redis: what one ended
 * call adds to a time bucket (`callSample`, `bucketIncrements`), how
 * buckets add up (`addTotals`), and the post-dial delay percentiles from a
 * fixed histogram (`pddPercentile`). The buckets are counters only, so a
 * bucket is updated with HINCRBY when a call ends and never rescanned.
 *
 * Post-dial delay is kept in fixed bins (`PDD_BOUNDS_MS`): bounded memory
 * per bucket whatever the traffic, and buckets merge by adding bins. A
 * percentile is interpolated linearly inside its bin, so it is exact to
 * within that bin's width (100 ms up to 500 ms, 250–500 ms up to 2 s, …);
 * one past the last bound reads as the last bound (60 s).
 */
import type { CallRecord } from './call-records.js';

/** How long a tracker's day buckets are kept after their last write (tracker-measurements.ts). */
export const RETENTION_DAYS = 400;

/** Upper bounds (ms, inclusive) of the post-dial delay bins; one more bin holds everything above the last. */
export const PDD_BOUNDS_MS: readonly number[] = [100, 200, 300, 400, 500, 750, 1000, 1500, 2000, 3000, 4000, 5000, 7500, 10_000, 15_000, 20_000, 30_000, 60_000];
export const PDD_BINS = PDD_BOUNDS_MS.length + 1;
/** A post-dial delay longer than this is not a measurement (a clock jump): it is left out. */
const MAX_PDD_MS = 24 * 3600_000;

/** What one ended call contributes to its tracker buckets. */
export interface CallSample {
  /** When the call started (its record's creation), ms since the epoch: the bucket it lands in. */
  at: number;
  answered: boolean;
  /** Final status `failed` (busy, no-answer and canceled are unanswered, not failed). */
  failed: boolean;
  /** Seconds from answer to end. */
  durationS: number;
  /** Billed minutes: each started minute of an answered call, at least one (as usage counts them). */
  minutes: number;
  /** The call's price when the record has one (a decimal, negative as the API shows charges). */
  price: number | undefined;
  /** Time from the call's INVITE to its first ringing or answer, ms. */
  pddMs: number | undefined;
}

/** Totals of one bucket, or of many added up. */
export interface MeasurementTotals {
  calls: number;
  answered: number;
  failed: number;
  seconds: number;
  minutes: number;
  /** Sum of the prices of the calls that had one, and how many had one. */
  price: number;
  priced: number;
  /** Post-dial delay: samples, their sum (ms) and the histogram by `PDD_BOUNDS_MS` bin. */
  pddCount: number;
  pddSumMs: number;
  pddBins: number[];
}

export function emptyTotals(): MeasurementTotals {
  return { calls: 0, answered: 0, failed: 0, seconds: 0, minutes: 0, price: 0, priced: 0, pddCount: 0, pddSumMs: 0, pddBins: new Array<number>(PDD_BINS).fill(0) };
}

/** A price as records may hold it (decimal string or number); anything else is no price. */
export function parsePrice(value: unknown): number | undefined {
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^-?\d{1,12}(\.\d{1,12})?$/.test(value.trim()) ? Number(value) : NaN;
  return Number.isFinite(n) ? n : undefined;
}

/** The sample of an ended call; `price` is read from the record when pricing wrote one. */
export function callSample(rec: Omit<CallRecord, 'price'> & { price?: unknown }): CallSample {
  const answered = rec.status === 'completed';
  const durationS = answered ? Math.max(0, rec.duration ?? 0) : 0;
  const pdd = rec.postDialDelayMs;
  return {
    at: Date.parse(rec.dateCreated),
    answered,
    failed: rec.status === 'failed',
    durationS,
    minutes: answered ? Math.max(1, Math.ceil(durationS / 60)) : 0,
    price: parsePrice(rec.price),
    pddMs: pdd !== undefined && Number.isFinite(pdd) && pdd >= 0 && pdd <= MAX_PDD_MS ? Math.round(pdd) : undefined,
  };
}

/** Index of the bin a delay falls in. */
export function pddBin(ms: number): number {
  const i = PDD_BOUNDS_MS.findIndex((bound) => ms <= bound);
  return i === -1 ? PDD_BOUNDS_MS.length : i;
}

/** Stored counter names (hash field suffixes) of a bucket. */
export const COUNTER_FIELDS = ['calls', 'answered', 'failed', 'seconds', 'minutes', 'priced', 'pddCount', 'pddSumMs'] as const;
export const pddBinField = (i: number): string => `pdd${i}`;
/** Every field a bucket may hold: the counters, `price` (a float) and the post-dial delay bins. */
export const BUCKET_FIELDS: readonly string[] = [...COUNTER_FIELDS, 'price', ...Array.from({ length: PDD_BINS }, (_, i) => pddBinField(i))];

/** The increments one call adds to a bucket (integer counters; `price` separately, as a float). */
export function bucketIncrements(s: CallSample): { counters: Record<string, number>; price: number | undefined } {
  const counters: Record<string, number> = { calls: 1 };
  if (s.answered) {
    counters['answered'] = 1;
    counters['seconds'] = s.durationS;
    counters['minutes'] = s.minutes;
  }
  if (s.failed) counters['failed'] = 1;
  if (s.price !== undefined) counters['priced'] = 1;
  if (s.pddMs !== undefined) {
    counters['pddCount'] = 1;
    counters['pddSumMs'] = s.pddMs;
    counters[pddBinField(pddBin(s.pddMs))] = 1;
  }
  return { counters, price: s.price };
}

/** A bucket's totals from its stored fields (missing fields are zero). */
export function totalsFromFields(get: (field: string) => string | null | undefined): MeasurementTotals {
  const num = (f: string): number => {
    const v = Number(get(f) ?? 0);
    return Number.isFinite(v) ? v : 0;
  };
  const t = emptyTotals();
  for (const f of COUNTER_FIELDS) t[f] = num(f);
  t.price = num('price');
  t.pddBins = Array.from({ length: PDD_BINS }, (_, i) => num(pddBinField(i)));
  return t;
}

/** Adds `b` into `a` (returns `a`). */
export function addTotals(a: MeasurementTotals, b: MeasurementTotals): MeasurementTotals {
  for (const f of COUNTER_FIELDS) a[f] += b[f];
  a.price += b.price;
  b.pddBins.forEach((n, i) => (a.pddBins[i] = (a.pddBins[i] ?? 0) + n));
  return a;
}

/**
 * The `q`-quantile (0 < q ≤ 1) of the post-dial delays in `bins`, ms, or
 * null without samples: the bin holding the ⌈q·n⌉-th smallest sample,
 * interpolated linearly between its bounds by the sample's rank within it
 * (samples taken as spread evenly over the bin).
 */
export function pddPercentile(bins: readonly number[], q: number): number | null {
  const n = bins.reduce((s, c) => s + c, 0);
  if (n === 0) return null;
  const rank = Math.max(1, Math.ceil(q * n));
  let before = 0;
  for (let i = 0; i < bins.length; i++) {
    const count = bins[i] ?? 0;
    if (count > 0 && before + count >= rank) {
      const lower = i === 0 ? 0 : (PDD_BOUNDS_MS[i - 1] as number);
      const upper = PDD_BOUNDS_MS[i];
      if (upper === undefined) return lower;
      // The sample's midpoint within the bin: one sample of a bin reads as the bin's middle.
      return Math.round(lower + ((upper - lower) * (rank - before - 0.5)) / count);
    }
    before += count;
  }
  return PDD_BOUNDS_MS[PDD_BOUNDS_MS.length - 1] as number;
}

/** Answer-seizure ratio: answered calls over call attempts, or null without attempts. */
export function answerSeizureRatio(t: MeasurementTotals): number | null {
  return t.calls === 0 ? null : t.answered / t.calls;
}
