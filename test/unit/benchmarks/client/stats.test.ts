import { describe, expect, it } from 'vitest';
import { cpuPerCallSecond, lossFraction, maxPassing, ratio, summarize } from '../../../../benchmarks/client/stats.js';

describe('client benchmark stats', () => {
  it('cpuPerCallSecond divides by calls × seconds and refuses empty windows', () => {
    expect(cpuPerCallSecond(1, 10, 5)).toBeCloseTo(0.02);
    expect(cpuPerCallSecond(1, 0, 5)).toBeUndefined();
    expect(cpuPerCallSecond(1, 10, 0)).toBeUndefined();
    expect(cpuPerCallSecond(-1, 10, 5)).toBeUndefined();
  });
  it('lossFraction is lost over expected, 0 when nothing was expected, negative lost counts as 0', () => {
    expect(lossFraction(99, 1)).toBeCloseTo(0.01);
    expect(lossFraction(0, 0)).toBe(0);
    expect(lossFraction(100, -3)).toBe(0);
  });
  it('ratio rounds to 2 decimals and is undefined without a baseline', () => {
    expect(ratio(3, 2)).toBe(1.5);
    expect(ratio(1, 3)).toBe(0.33);
    expect(ratio(1, 0)).toBeUndefined();
    expect(ratio(undefined, 2)).toBeUndefined();
  });
  it('summarize gives nearest-rank p50/p95 and max', () => {
    const s = summarize(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(s).toEqual({ n: 20, p50: 10, p95: 19, max: 20 });
    expect(summarize([])).toEqual({ n: 0, p50: undefined, p95: undefined, max: undefined });
  });
  it('maxPassing stops at the first failing step', () => {
    expect(maxPassing([{ k: 10, pass: true }, { k: 5, pass: true }, { k: 20, pass: false }])).toBe(10);
    expect(maxPassing([{ k: 5, pass: false }, { k: 10, pass: true }])).toBeUndefined();
    expect(maxPassing([])).toBeUndefined();
  });
});
