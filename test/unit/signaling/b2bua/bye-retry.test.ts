import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ByeRetries, type ByeAttempt } from '../../../../signaling/b2bua/bye-retry.js';

/** A BYE whose tries fail while `peerDown` is true, each failing after `failAfterMs` (Timer F in real life). */
function peer(failAfterMs = 0): { attempt: ByeAttempt; tries: number[]; down: boolean } {
  const p = {
    tries: [] as number[],
    down: true,
    attempt: ((report) => {
      p.tries.push(Date.now());
      const down = p.down;
      if (failAfterMs === 0) report(!down);
      else setTimeout(() => report(!down), failAfterMs);
    }) as ByeAttempt,
  };
  return p;
}

describe('ByeRetries', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(0);
  });
  afterEach(() => vi.useRealTimers());

  it('sends once when the peer answers', async () => {
    const r = new ByeRetries({ intervalMs: 1000 });
    const p = peer();
    p.down = false;
    r.send(p.attempt);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(p.tries).toEqual([0]);
    expect(r.counters).toEqual({ retried: 0, gaveUp: 0, answeredAfterRetry: 0 });
    expect(r.pending).toBe(0);
  });

  it('sends again after each failure until the peer answers (a link cut longer than Timer F)', async () => {
    const r = new ByeRetries({ intervalMs: 2000, forMs: 300_000 });
    // Each try fails after 32 s (Timer F with the default T1).
    const p = peer(32_000);
    r.send(p.attempt);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(p.tries).toEqual([0, 34_000]);
    expect(r.pending).toBe(0); // the second try is in flight
    p.down = false; // the link is restored
    await vi.advanceTimersByTimeAsync(40_000);
    expect(p.tries).toEqual([0, 34_000, 68_000]);
    expect(r.counters).toEqual({ retried: 2, gaveUp: 0, answeredAfterRetry: 1 });
    await vi.advanceTimersByTimeAsync(100_000);
    expect(p.tries).toHaveLength(3);
  });

  it('gives up once forMs has passed since the first BYE, and says so once', async () => {
    const r = new ByeRetries({ intervalMs: 1000, forMs: 5000 });
    const p = peer(0);
    const gaveUp = vi.fn();
    r.send(p.attempt, gaveUp);
    await vi.advanceTimersByTimeAsync(60_000);
    // Tries at 0..4 s; a retry at 5 s would start past the window.
    expect(p.tries).toEqual([0, 1000, 2000, 3000, 4000]);
    expect(gaveUp).toHaveBeenCalledTimes(1);
    expect(gaveUp).toHaveBeenCalledWith(5);
    expect(r.counters).toEqual({ retried: 4, gaveUp: 1, answeredAfterRetry: 0 });
  });

  it('keeps at most maxPending BYEs waiting; a failure beyond that is given up at once', async () => {
    const r = new ByeRetries({ intervalMs: 1000, maxPending: 2 });
    const peers = [peer(), peer(), peer()];
    const gaveUp = vi.fn();
    for (const p of peers) r.send(p.attempt, gaveUp);
    await vi.advanceTimersByTimeAsync(0);
    expect(r.pending).toBe(2);
    expect(gaveUp).toHaveBeenCalledTimes(1);
    expect(r.counters.gaveUp).toBe(1);
  });

  it('close() drops the waiting retries (counted as given up) and sends nothing more; idempotent', async () => {
    const r = new ByeRetries({ intervalMs: 1000 });
    const p = peer();
    r.send(p.attempt);
    await vi.advanceTimersByTimeAsync(0);
    expect(r.pending).toBe(1);
    r.close();
    r.close();
    expect(r.pending).toBe(0);
    expect(r.counters.gaveUp).toBe(1);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(p.tries).toEqual([0]);
  });

  it('ignores a second report of one try', async () => {
    const r = new ByeRetries({ intervalMs: 1000 });
    let tries = 0;
    r.send((report) => {
      tries++;
      report(false);
      report(false);
    });
    await vi.advanceTimersByTimeAsync(1500);
    expect(tries).toBe(2);
    expect(r.pending).toBe(1);
    r.close();
  });
});
