import { describe, expect, it } from 'vitest';
import { callSeries, computeRecovery, maxMediaGap } from '../../../../benchmarks/drill/analysis.js';
import type { CallTimeline } from '../../../../benchmarks/drill/sipp-results.js';

const T = 1_000_000; // drill start
const ok = (n: number, placed: number, answer = 50): CallTimeline => ({ n, placedAt: T + placed, answeredAt: T + placed + answer, completedAt: T + placed + 3000 });
const lost = (n: number, placed: number): CallTimeline => ({ n, placedAt: T + placed });
const dropped = (n: number, placed: number): CallTimeline => ({ n, placedAt: T + placed, answeredAt: T + placed + 40 });

describe('recovery', () => {
  it('is the first answer of the final unbroken run of completed calls placed after the drill start', () => {
    const r = computeRecovery([ok(1, -400), lost(2, 100), ok(3, 300), lost(4, 500), ok(5, 700), ok(6, 900)], T);
    expect(r).toEqual({ recoveryMs: 750, placedAfterStart: 5, notCompletedAfterStart: 2, lateAfterStart: 0, lastFailurePlacedMs: 500 });
  });

  it('counts a call answered but not completed as a failure', () => {
    expect(computeRecovery([dropped(1, 100), ok(2, 300)], T).recoveryMs).toBe(350);
  });

  it('counts a call answered later than the bound as not served, and takes the earliest answer of the run', () => {
    // Calls held back during a cut link are answered after the restore, late; the first in time after it is served.
    const calls = [ok(1, 100, 5200), ok(2, 300, 4800), ok(3, 5200, 900), ok(4, 5150, 30), ok(5, 5400, 20)];
    expect(computeRecovery(calls, T)).toMatchObject({ recoveryMs: 5180, notCompletedAfterStart: 0, lateAfterStart: 2, lastFailurePlacedMs: 300 });
    // With a looser bound nothing is late: the first answer after the start.
    expect(computeRecovery(calls, T, 10_000).recoveryMs).toBe(5100);
  });

  it('is the first answer after the start when nothing failed', () => {
    expect(computeRecovery([ok(1, -200), ok(2, 150), ok(3, 350)], T)).toMatchObject({ recoveryMs: 200, notCompletedAfterStart: 0, lastFailurePlacedMs: undefined });
  });

  it('is undefined when the last call placed failed, or nothing was placed after the start', () => {
    expect(computeRecovery([ok(1, 100), lost(2, 300)], T).recoveryMs).toBeUndefined();
    expect(computeRecovery([ok(1, -100)], T)).toMatchObject({ recoveryMs: undefined, placedAfterStart: 0 });
  });
});

describe('calls per second', () => {
  it('buckets placements, answers and failures by second from the drill start', () => {
    const s = callSeries([ok(1, -1500), lost(2, -200), ok(3, 100), ok(4, 950, 100)], T, -2000, 2000);
    expect(s).toEqual([
      { t: -2, placed: 1, answered: 1, failed: 0 },
      { t: -1, placed: 1, answered: 0, failed: 1 },
      { t: 0, placed: 2, answered: 1, failed: 0 },
      { t: 1, placed: 0, answered: 1, failed: 0 },
    ]);
  });

  it('leaves out what falls outside the range', () => {
    const s = callSeries([ok(1, -5000), ok(2, 9000)], T, 0, 1000);
    expect(s).toEqual([{ t: 0, placed: 0, answered: 0, failed: 0 }]);
  });
});

describe('media gap', () => {
  it('is the longest time between two packets', () => {
    expect(maxMediaGap([0, 20, 40, 1400, 1420, 60], 1430)).toEqual({ maxGapMs: 1340, gapStartedAt: 60, packets: 6, resumed: true });
  });

  it('runs to the end of the call for a stream that never came back', () => {
    expect(maxMediaGap([0, 20, 40], 5040)).toEqual({ maxGapMs: 5000, gapStartedAt: 40, packets: 3, resumed: false });
  });

  it('ignores packets after the end and is 0 without two packets', () => {
    expect(maxMediaGap([0, 20, 9000], 30).maxGapMs).toBe(20);
    expect(maxMediaGap([], 100)).toMatchObject({ maxGapMs: 0, packets: 0, resumed: true });
  });
});
