import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LingerQueue, type Lingering } from '../../../../../signaling/sip/transaction/linger-queue.js';

function fakeTx(name: string, ended: string[]): Lingering & { isTerminated: boolean } {
  const tx = {
    isTerminated: false,
    terminate(): void {
      tx.isTerminated = true;
      ended.push(name);
    },
  };
  return tx;
}

describe('LingerQueue', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('ends each transaction when its duration is up, never before, across durations', () => {
    const ended: string[] = [];
    const q = new LingerQueue(50);
    q.add(fakeTx('long', ended), 32_000);
    q.add(fakeTx('short', ended), 5_000);
    vi.advanceTimersByTime(4_999);
    expect(ended).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(ended).toEqual(['short']);
    vi.advanceTimersByTime(32_000 - 5_000 - 1);
    expect(ended).toEqual(['short']);
    vi.advanceTimersByTime(1);
    expect(ended).toEqual(['short', 'long']);
    expect(q.size).toBe(0);
  });

  it('under a stream of lingers fires at most every minGapMs, each at most that late', () => {
    const ended: string[] = [];
    const q = new LingerQueue(50);
    // One transaction a millisecond for 200 ms, each lingering 1 s.
    for (let i = 0; i < 200; i++) {
      q.add(fakeTx(`t${i}`, ended), 1_000);
      vi.advanceTimersByTime(1);
    }
    // Now 200 ms in; t0 is due at 1000.
    vi.advanceTimersByTime(800);
    expect(ended).toEqual(['t0']);
    vi.advanceTimersByTime(49);
    expect(ended).toHaveLength(1);
    vi.advanceTimersByTime(1); // 1050: everything due by then (t0..t50)
    expect(ended).toHaveLength(51);
    vi.advanceTimersByTime(200);
    expect(ended).toHaveLength(200);
  });

  it('skips a transaction that ended another way, and forgets everything on clear', () => {
    const ended: string[] = [];
    const q = new LingerQueue(50);
    const early = fakeTx('early', ended);
    q.add(early, 1_000);
    early.terminate(); // e.g. a transport error
    q.add(fakeTx('dropped', ended), 2_000);
    vi.advanceTimersByTime(1_000);
    expect(ended).toEqual(['early']);
    q.clear();
    vi.advanceTimersByTime(5_000);
    expect(ended).toEqual(['early']);
    expect(q.size).toBe(0);
  });

  it('keeps order and count through the compaction of a long FIFO', () => {
    const ended: string[] = [];
    const q = new LingerQueue(1);
    // One a millisecond for 3 s, each lingering 1 s: the FIFO's head passes 1024 ended
    // entries while about a thousand still wait, which compacts it.
    for (let i = 0; i < 3000; i++) {
      q.add(fakeTx(String(i), ended), 1_000);
      vi.advanceTimersByTime(1);
    }
    expect(q.size).toBeGreaterThan(900);
    vi.advanceTimersByTime(1_000);
    expect(ended).toEqual(Array.from({ length: 3000 }, (_, i) => String(i)));
    expect(q.size).toBe(0);
  });
});
