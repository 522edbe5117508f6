import { MeshError } from './errors.js';

/**
 * Circuit breaker for one remote dependency (an rtpengine, an application
 * host, a region link). After `failureThreshold` consecutive failures it
 * opens and rejects immediately for `openMs`; then one trial call is let
 * through (half-open): success closes it, failure re-opens it.
 */
export interface CircuitBreakerOptions {
  /** Consecutive failures that open the circuit. Default 3. */
  failureThreshold?: number;
  /** How long the circuit stays open before a trial call. Default 1000 ms. */
  openMs?: number;
  /** Clock, injectable for tests. Default Date.now. */
  now?: () => number;
}

export type CircuitState = 'closed' | 'open' | 'half-open';

export class CircuitBreaker {
  readonly name: string;
  private readonly threshold: number;
  private readonly openMs: number;
  private readonly now: () => number;
  private failures = 0;
  private openedAt = 0;
  private state_: CircuitState = 'closed';
  private trialInFlight = false;

  constructor(name: string, opts: CircuitBreakerOptions = {}) {
    this.name = name;
    this.threshold = opts.failureThreshold ?? 3;
    this.openMs = opts.openMs ?? 1000;
    this.now = opts.now ?? Date.now;
  }

  get state(): CircuitState {
    if (this.state_ === 'open' && this.now() - this.openedAt >= this.openMs) return 'half-open';
    return this.state_;
  }

  /** True when a call would be let through now. */
  isCallAllowed(): boolean {
    const s = this.state;
    if (s === 'closed') return true;
    if (s === 'half-open') return !this.trialInFlight;
    return false;
  }

  recordSuccess(): void {
    this.failures = 0;
    this.state_ = 'closed';
    this.trialInFlight = false;
  }

  recordFailure(): void {
    this.trialInFlight = false;
    this.failures += 1;
    if (this.state_ !== 'closed' || this.failures >= this.threshold) {
      this.state_ = 'open';
      this.openedAt = this.now();
    }
  }

  /** Run `fn` through the breaker; rejects with CIRCUIT_OPEN without calling it when open. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    const s = this.state;
    if (s === 'open' || (s === 'half-open' && this.trialInFlight)) {
      throw new MeshError('CIRCUIT_OPEN', `circuit ${this.name} is open`, { retryAfter: Math.ceil(this.openMs / 1000) });
    }
    if (s === 'half-open') this.trialInFlight = true;
    try {
      const v = await fn();
      this.recordSuccess();
      return v;
    } catch (e) {
      this.recordFailure();
      throw e;
    }
  }
}
