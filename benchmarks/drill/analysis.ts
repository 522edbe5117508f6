/**
 * The drill's figures from what was observed (pure). Definitions (also in
 * benchmarks/README.md, "drill"):
 *
 * - **detection**: drill start (just before the drill request is sent) → the
 *   first answer of the operator API poll that shows the change (node not
 *   healthy, node drained, link `cut`); resolution: the poll interval.
 * - **recovery**: drill start → the earliest 200 OK among the calls of the
 *   final unbroken run of served calls, i.e. the calls placed at or after
 *   the drill start from the first one on after which every call placed was
 *   served: completed, and answered within `slowMs` of its INVITE (a call held
 *   back by the drill and answered late is not served at the offered rate).
 *   Undefined (not recovered) when the last call placed was not served, or
 *   no call was placed after the drill start.
 * - **media gap**: per probe call, the longest time between two RTP packets
 *   the probe received (its own stream echoed by the far end); a stream that
 *   stopped and never resumed counts until the probe hung up.
 */
import type { CallTimeline } from './sipp-results.js';

export interface Recovery {
  /** ms from the drill start; undefined when not recovered. */
  recoveryMs: number | undefined;
  /** Calls placed at or after the drill start. */
  placedAfterStart: number;
  /** Of those, calls that did not complete. */
  notCompletedAfterStart: number;
  /** Of those, calls that completed but were answered more than `slowMs` after their INVITE. */
  lateAfterStart: number;
  /** The last call placed at or after the drill start that was not served, ms from the drill start. */
  lastFailurePlacedMs: number | undefined;
}

const isCompleted = (c: CallTimeline): boolean => c.completedAt !== undefined && c.answeredAt !== undefined;
const isLate = (c: CallTimeline, slowMs: number): boolean => c.answeredAt !== undefined && c.answeredAt - c.placedAt > slowMs;

/** Default answer time beyond which a call counts as held back by the drill, ms. */
export const SLOW_ANSWER_MS = 1000;

export function computeRecovery(calls: readonly CallTimeline[], drillStartMs: number, slowMs = SLOW_ANSWER_MS): Recovery {
  const after = calls.filter((c) => c.placedAt >= drillStartMs).sort((a, b) => a.placedAt - b.placedAt || a.n - b.n);
  let lastFailure = -1;
  after.forEach((c, i) => {
    if (!isCompleted(c) || isLate(c, slowMs)) lastFailure = i;
  });
  const run = after.slice(lastFailure + 1);
  const answers = run.map((c) => c.answeredAt!).filter((t) => Number.isFinite(t));
  return {
    recoveryMs: answers.length === 0 ? undefined : Math.min(...answers) - drillStartMs,
    placedAfterStart: after.length,
    notCompletedAfterStart: after.filter((c) => !isCompleted(c)).length,
    lateAfterStart: after.filter((c) => isCompleted(c) && isLate(c, slowMs)).length,
    lastFailurePlacedMs: lastFailure < 0 ? undefined : after[lastFailure]!.placedAt - drillStartMs,
  };
}

/** One second of the load, `t` = its start in seconds from the drill start. */
export interface SeriesPoint {
  t: number;
  /** INVITEs sent in it. */
  placed: number;
  /** 200 OKs to INVITEs received in it. */
  answered: number;
  /** Calls placed in it that did not complete. */
  failed: number;
}

/** Calls per second from `fromMs` to `toMs` (both relative to the drill start, whole buckets). */
export function callSeries(calls: readonly CallTimeline[], drillStartMs: number, fromMs: number, toMs: number, bucketMs = 1000): SeriesPoint[] {
  const first = Math.floor(fromMs / bucketMs);
  const last = Math.ceil(toMs / bucketMs) - 1;
  const points: SeriesPoint[] = [];
  for (let b = first; b <= last; b++) points.push({ t: (b * bucketMs) / 1000, placed: 0, answered: 0, failed: 0 });
  const at = (ms: number): SeriesPoint | undefined => points[Math.floor((ms - drillStartMs) / bucketMs) - first];
  for (const c of calls) {
    const p = at(c.placedAt);
    if (p !== undefined) {
      p.placed++;
      if (!isCompleted(c)) p.failed++;
    }
    if (c.answeredAt !== undefined) {
      const a = at(c.answeredAt);
      if (a !== undefined) a.answered++;
    }
  }
  return points;
}

export interface MediaGap {
  /** Longest time between two received packets, ms (0 with fewer than two packets). */
  maxGapMs: number;
  /** When the longest gap began, ms since the epoch; undefined without one. */
  gapStartedAt: number | undefined;
  packets: number;
  /** False when the stream stopped before `endMs` by more than `stallMs` and never came back. */
  resumed: boolean;
}

/**
 * The longest silence of one probe stream. `arrivals` are receive times (ms,
 * any order); `endMs` is when the probe stopped expecting packets (its BYE):
 * a stream silent for more than `stallMs` before it counts as a gap up to `endMs`.
 */
export function maxMediaGap(arrivals: readonly number[], endMs: number, stallMs = 1000): MediaGap {
  const ts = [...arrivals].filter((t) => t <= endMs).sort((a, b) => a - b);
  let maxGapMs = 0;
  let gapStartedAt: number | undefined;
  for (let i = 1; i < ts.length; i++) {
    const g = ts[i]! - ts[i - 1]!;
    if (g > maxGapMs) {
      maxGapMs = g;
      gapStartedAt = ts[i - 1];
    }
  }
  const lastAt = ts.at(-1);
  let resumed = true;
  if (lastAt !== undefined && endMs - lastAt > stallMs) {
    resumed = false;
    if (endMs - lastAt > maxGapMs) {
      maxGapMs = endMs - lastAt;
      gapStartedAt = lastAt;
    }
  }
  return { maxGapMs, gapStartedAt, packets: ts.length, resumed };
}
