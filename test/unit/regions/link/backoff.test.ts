import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { backoffDelay } from '../../../../regions/link/backoff.js';
import { Reconnector } from '../../../../regions/link/reconnect.js';

describe('backoffDelay', () => {
  it('grows exponentially from initialMs and is capped at maxMs (no jitter)', () => {
    const o = { initialMs: 100, maxMs: 2000, factor: 2, jitter: 0 };
    expect([0, 1, 2, 3, 4, 5, 6, 50, 10_000].map((a) => backoffDelay(a, o))).toEqual([100, 200, 400, 800, 1600, 2000, 2000, 2000, 2000]);
  });

  it('spreads by ±jitter and never exceeds maxMs', () => {
    const o = { initialMs: 100, maxMs: 1000, factor: 2, jitter: 0.5 };
    expect(backoffDelay(2, o, () => 0)).toBe(200); // 400 × (1 − 0.5)
    expect(backoffDelay(2, o, () => 0.5)).toBe(400);
    expect(backoffDelay(2, o, () => 0.999999)).toBe(600);
    expect(backoffDelay(10, o, () => 0.999999)).toBe(1000);
    for (let i = 0; i < 200; i++) {
      const d = backoffDelay(i % 12, o);
      expect(d).toBeGreaterThanOrEqual(50);
      expect(d).toBeLessThanOrEqual(1000);
    }
  });
});

describe('Reconnector (fake timers)', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('retries on the backoff schedule until a connect succeeds', async () => {
    const times: number[] = [];
    let failuresLeft = 4;
    const t0 = Date.now();
    const r = new Reconnector({
      connect: async () => {
        times.push(Date.now() - t0);
        if (failuresLeft-- > 0) throw new Error('refused');
      },
      backoff: { initialMs: 100, maxMs: 500, factor: 2, jitter: 0 },
    });
    r.start();
    await vi.advanceTimersByTimeAsync(5000);
    // Immediately, then +100, +200, +400, +500 (capped).
    expect(times).toEqual([0, 100, 300, 700, 1200]);
    expect(r.isWaiting).toBe(false);
    r.close();
  });

  it('after a drop, restarts the schedule only if the connection had been stable', async () => {
    const times: number[] = [];
    let fail = true;
    const r = new Reconnector({
      connect: async () => {
        times.push(Date.now());
        if (fail) throw new Error('refused');
      },
      backoff: { initialMs: 100, maxMs: 10_000, factor: 2, jitter: 0 },
      stableAfterMs: 1000,
    });
    r.start(); // fails at 0, retries at 100, 300
    await vi.advanceTimersByTimeAsync(301);
    fail = false;
    await vi.advanceTimersByTimeAsync(400); // 700 succeeds
    expect(times.length).toBe(4);
    const start = Date.now();
    times.length = 0;
    r.disconnected(50); // flapping: the schedule keeps growing (100, 200, 400 used) → 800
    await vi.advanceTimersByTimeAsync(2000);
    expect(times.map((t) => t - start)).toEqual([800]);
    const start2 = Date.now();
    times.length = 0;
    r.disconnected(5000); // was stable: back to 100
    await vi.advanceTimersByTimeAsync(200);
    expect(times.map((t) => t - start2)).toEqual([100]);
    r.close();
  });

  it('close stops pending retries; start is a no-op while waiting', async () => {
    let calls = 0;
    const failed: number[] = [];
    const r = new Reconnector({
      connect: async () => {
        calls++;
        throw new Error('refused');
      },
      backoff: { initialMs: 1000, jitter: 0 },
      onAttemptFailed: (_e, _attempt, delay) => failed.push(delay),
    });
    r.start();
    await vi.advanceTimersByTimeAsync(10);
    r.start();
    r.start();
    expect(calls).toBe(1);
    expect(failed).toEqual([1000]);
    r.close();
    r.close();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(calls).toBe(1);
  });
});
