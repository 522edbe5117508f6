/**
 * One circuit breaker per application host, so a host that keeps failing is
 * not waited on for every call: while its breaker is open, requests to it
 * fail at once and the router goes straight to the fallback URL.
 */
import { CircuitBreaker, type CircuitBreakerOptions } from '../../regions/core/circuit-breaker.js';

export interface HostBreakersOptions extends CircuitBreakerOptions {
  /** Hosts tracked at once; the least recently used is forgotten beyond it. Default 1000. */
  maxHosts?: number;
}

export class HostBreakers {
  private readonly breakers = new Map<string, CircuitBreaker>();
  private readonly maxHosts: number;

  constructor(private readonly opts: HostBreakersOptions = {}) {
    this.maxHosts = opts.maxHosts ?? 1000;
  }

  /** The breaker of the URL's host (scheme + host + port). */
  forUrl(url: string): CircuitBreaker {
    let key: string;
    try {
      key = new URL(url).origin;
    } catch {
      key = url;
    }
    let b = this.breakers.get(key);
    if (b !== undefined) {
      // Re-insert: Map order is the LRU order.
      this.breakers.delete(key);
      this.breakers.set(key, b);
      return b;
    }
    b = new CircuitBreaker(`app-host ${key}`, this.opts);
    this.breakers.set(key, b);
    if (this.breakers.size > this.maxHosts) {
      const oldest = this.breakers.keys().next().value;
      if (oldest !== undefined) this.breakers.delete(oldest);
    }
    return b;
  }

  get size(): number {
    return this.breakers.size;
  }
}
