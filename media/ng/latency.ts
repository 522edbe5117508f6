/**
 * Per-command latency of ng requests: a fixed-bucket cumulative histogram
 * (what a Prometheus histogram exposes) plus the last N samples for
 * percentiles. Memory is bounded: buckets are fixed and samples are a ring.
 */

/** Upper bounds of the histogram buckets, in milliseconds (the +Inf bucket is implied). */
export const NG_LATENCY_BUCKETS_MS: readonly number[] = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500];

export type NgOutcome = 'ok' | 'error' | 'timeout';

export interface NgCommandStats {
  command: string;
  /** Requests that got a reply with `result: ok` (or `pong`). */
  ok: number;
  /** Requests answered with `result: error`, or that failed locally (closed, send error). */
  errors: number;
  /** Requests that got no reply within the timeout. */
  timeouts: number;
  /** Cumulative bucket counts aligned with NG_LATENCY_BUCKETS_MS, last entry is +Inf. Replies only. */
  buckets: number[];
  /** Sum of reply latencies in ms (Prometheus `_sum`). */
  sumMs: number;
  /** Percentiles over the last samples; undefined before the first reply. */
  p50Ms: number | undefined;
  p90Ms: number | undefined;
  p99Ms: number | undefined;
  maxMs: number | undefined;
}

class CommandLatency {
  ok = 0;
  errors = 0;
  timeouts = 0;
  sumMs = 0;
  readonly counts: number[] = new Array<number>(NG_LATENCY_BUCKETS_MS.length + 1).fill(0);
  private readonly ring: number[] = [];
  private next = 0;

  constructor(private readonly samples: number) {}

  record(outcome: NgOutcome, ms: number): void {
    if (outcome === 'timeout') {
      this.timeouts += 1;
      return;
    }
    if (outcome === 'ok') this.ok += 1;
    else this.errors += 1;
    if (!Number.isFinite(ms) || ms < 0) return;
    this.sumMs += ms;
    let i = NG_LATENCY_BUCKETS_MS.findIndex((b) => ms <= b);
    if (i < 0) i = NG_LATENCY_BUCKETS_MS.length;
    this.counts[i] = (this.counts[i] ?? 0) + 1;
    if (this.ring.length < this.samples) this.ring.push(ms);
    else this.ring[this.next] = ms;
    this.next = (this.next + 1) % this.samples;
  }

  snapshot(command: string): NgCommandStats {
    const sorted = [...this.ring].sort((a, b) => a - b);
    const pct = (p: number): number | undefined =>
      sorted.length === 0 ? undefined : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
    let acc = 0;
    const buckets = this.counts.map((c) => (acc += c));
    return {
      command,
      ok: this.ok,
      errors: this.errors,
      timeouts: this.timeouts,
      buckets,
      sumMs: this.sumMs,
      p50Ms: pct(50),
      p90Ms: pct(90),
      p99Ms: pct(99),
      maxMs: sorted.length === 0 ? undefined : sorted[sorted.length - 1],
    };
  }
}

export class NgLatencyRecorder {
  private readonly byCommand = new Map<string, CommandLatency>();

  /** @param samples how many recent samples each command keeps for percentiles. Default 256. */
  constructor(private readonly samples = 256) {}

  record(command: string, outcome: NgOutcome, ms: number): void {
    let c = this.byCommand.get(command);
    if (c === undefined) {
      // Command names come from our own code, so this map stays small.
      c = new CommandLatency(this.samples);
      this.byCommand.set(command, c);
    }
    c.record(outcome, ms);
  }

  snapshot(): NgCommandStats[] {
    return [...this.byCommand.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([name, c]) => c.snapshot(name));
  }
}
