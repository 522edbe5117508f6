import { describe, expect, it } from 'vitest';
import type { CallRecord } from '../../../../regions/store/call-records.js';
import {
  addTotals,
  answerSeizureRatio,
  BUCKET_FIELDS,
  bucketIncrements,
  callSample,
  emptyTotals,
  parsePrice,
  PDD_BINS,
  PDD_BOUNDS_MS,
  pddBin,
  pddPercentile,
  totalsFromFields,
  type MeasurementTotals,
} from '../../../../regions/store/tracker-math.js';

type AnyPricedRecord = Omit<CallRecord, 'price'> & { price?: unknown };

const rec = (over: Partial<AnyPricedRecord> = {}): AnyPricedRecord => ({
  sid: `CA${'0'.repeat(32)}`,
  accountSid: `AC${'0'.repeat(32)}`,
  direction: 'outbound-api',
  from: '+15550001111',
  to: '+15550002222',
  status: 'completed',
  region: 'us-east',
  dateCreated: 'Mon, 02 Mar 2026 10:15:00 +0000',
  dateUpdated: 'Mon, 02 Mar 2026 10:16:01 +0000',
  duration: 61,
  ...over,
});

/** Applies a list of calls to a bucket as Redis would (HINCRBY / HINCRBYFLOAT of the increments). */
function bucketOf(calls: AnyPricedRecord[]): MeasurementTotals {
  const hash = new Map<string, number>();
  for (const c of calls) {
    const { counters, price } = bucketIncrements(callSample(c));
    for (const [f, n] of Object.entries(counters)) hash.set(f, (hash.get(f) ?? 0) + n);
    if (price !== undefined) hash.set('price', (hash.get('price') ?? 0) + price);
  }
  for (const f of hash.keys()) expect(BUCKET_FIELDS).toContain(f);
  return totalsFromFields((f) => (hash.has(f) ? String(hash.get(f)) : null));
}

describe('tracker samples and buckets', () => {
  it('an answered call of 61 s adds one call, one answer, 2 billed minutes and its seconds', () => {
    const t = bucketOf([rec()]);
    expect(t).toMatchObject({ calls: 1, answered: 1, failed: 0, minutes: 2, seconds: 61, priced: 0, pddCount: 0 });
  });

  it('failed counts final status failed only; busy, no-answer and canceled are unanswered attempts', () => {
    const t = bucketOf([rec({ status: 'failed', duration: 0 }), rec({ status: 'busy', duration: 0 }), rec({ status: 'no-answer' }), rec({ status: 'canceled' })]);
    expect(t).toMatchObject({ calls: 4, answered: 0, failed: 1, minutes: 0, seconds: 0 });
    expect(answerSeizureRatio(t)).toBe(0);
  });

  it('the bucket is the hour the call started', () => {
    expect(new Date(callSample(rec()).at).toISOString()).toBe('2026-03-02T10:15:00.000Z');
  });

  it('reads a price from the record when pricing wrote one, as a decimal string or a number', () => {
    expect(parsePrice('-0.01300')).toBeCloseTo(-0.013);
    expect(parsePrice(-0.5)).toBe(-0.5);
    for (const none of [null, undefined, '', 'abc', '1e9', NaN, {}]) expect(parsePrice(none)).toBeUndefined();
    const t = bucketOf([rec({ price: '-0.02600' }), rec({ price: '-0.01300' }), rec({ price: null })]);
    expect(t.priced).toBe(2);
    expect(t.price).toBeCloseTo(-0.039);
  });

  it('post-dial delay lands in its bin; absurd values are left out', () => {
    expect(pddBin(0)).toBe(0);
    expect(pddBin(100)).toBe(0);
    expect(pddBin(101)).toBe(1);
    expect(pddBin(60_000)).toBe(PDD_BOUNDS_MS.length - 1);
    expect(pddBin(60_001)).toBe(PDD_BINS - 1);
    expect(callSample(rec({ postDialDelayMs: -5 })).pddMs).toBeUndefined();
    expect(callSample(rec({ postDialDelayMs: 2 * 86_400_000 })).pddMs).toBeUndefined();
    const t = bucketOf([rec({ postDialDelayMs: 250 }), rec({ postDialDelayMs: 1200 })]);
    expect(t.pddCount).toBe(2);
    expect(t.pddSumMs).toBe(1450);
    expect(t.pddBins[pddBin(250)]).toBe(1);
    expect(t.pddBins[pddBin(1200)]).toBe(1);
  });

  it('buckets add up field by field (day = sum of its hours)', () => {
    const a = bucketOf([rec({ postDialDelayMs: 250, price: '-0.1' })]);
    const b = bucketOf([rec({ status: 'failed', duration: 0, postDialDelayMs: 250 })]);
    const sum = addTotals(addTotals(emptyTotals(), a), b);
    expect(sum).toMatchObject({ calls: 2, answered: 1, failed: 1, minutes: 2, pddCount: 2, priced: 1 });
    expect(sum.pddBins[pddBin(250)]).toBe(2);
    expect(answerSeizureRatio(sum)).toBe(0.5);
    expect(answerSeizureRatio(emptyTotals())).toBeNull();
  });
});

describe('post-dial delay percentiles from the fixed bins', () => {
  const binsOf = (samples: number[]): number[] => {
    const bins = new Array<number>(PDD_BINS).fill(0);
    for (const s of samples) bins[pddBin(s)]!++;
    return bins;
  };

  it('no samples: null', () => {
    expect(pddPercentile(binsOf([]), 0.5)).toBeNull();
  });

  it('one sample reads as the middle of its bin', () => {
    expect(pddPercentile(binsOf([250]), 0.5)).toBe(250);
    expect(pddPercentile(binsOf([250]), 0.95)).toBe(250);
  });

  it('p50 and p95 of a spread stay within the width of the true value’s bin', () => {
    // 100 samples: 10, 20, …, 1000 ms. True p50 = 500, p95 = 950.
    const samples = Array.from({ length: 100 }, (_, i) => (i + 1) * 10);
    const bins = binsOf(samples);
    const p50 = pddPercentile(bins, 0.5)!;
    const p95 = pddPercentile(bins, 0.95)!;
    expect(Math.abs(p50 - 500)).toBeLessThanOrEqual(100); // bin (400, 500]
    expect(Math.abs(p95 - 950)).toBeLessThanOrEqual(250); // bin (750, 1000]
    expect(p50).toBeLessThan(p95);
  });

  it('a slow tail moves p95 and not p50', () => {
    const samples = [...new Array<number>(90).fill(300), ...new Array<number>(10).fill(8000)];
    const bins = binsOf(samples);
    expect(pddPercentile(bins, 0.5)).toBeGreaterThan(200);
    expect(pddPercentile(bins, 0.5)).toBeLessThanOrEqual(300);
    expect(pddPercentile(bins, 0.95)).toBeGreaterThan(7500);
    expect(pddPercentile(bins, 0.95)).toBeLessThanOrEqual(10_000);
  });

  it('past the last bound reads as the last bound', () => {
    expect(pddPercentile(binsOf([90_000, 120_000]), 0.5)).toBe(60_000);
  });
});
