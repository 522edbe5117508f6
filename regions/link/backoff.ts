/**
 * Reconnection delays: exponential growth, capped, with jitter so that many
 * nodes that lost the same peer do not all reconnect in the same millisecond.
 */
export interface BackoffOptions {
  /** Delay before the first retry. Default 100 ms. */
  initialMs?: number;
  /** Upper bound of any delay, jitter included. Default 5000 ms. */
  maxMs?: number;
  /** Growth per attempt. Default 2. */
  factor?: number;
  /** Fraction of the delay randomised, 0..1: delay × (1 ± jitter). Default 0.2. */
  jitter?: number;
}

export const DEFAULT_BACKOFF: Required<BackoffOptions> = { initialMs: 100, maxMs: 5000, factor: 2, jitter: 0.2 };

/**
 * Delay before retry number `attempt` (0 = first retry). `random` returns
 * [0, 1) and is injectable so tests get exact schedules.
 */
export function backoffDelay(attempt: number, opts: BackoffOptions = {}, random: () => number = Math.random): number {
  const o = { ...DEFAULT_BACKOFF, ...opts };
  const jitter = Math.min(1, Math.max(0, o.jitter));
  // Cap the exponent so a long outage cannot overflow to Infinity.
  const base = Math.min(o.maxMs, o.initialMs * Math.pow(o.factor, Math.min(attempt, 64)));
  const spread = base * jitter * (2 * random() - 1);
  return Math.max(0, Math.min(o.maxMs, Math.round(base + spread)));
}
