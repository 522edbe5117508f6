/**
 * BYEs that get no answer are sent again, for a while.
 *
 * When the B2BUA ends a call it BYEs the other leg and forgets the call. A BYE
 * whose transaction times out (Timer F, 64·T1 = 32 s by default, RFC 3261
 * §17.1.2.2) or cannot be sent (a TCP connection refused) means the peer never
 * heard the call end. RFC 3261 §15.1.1 lets us consider our side terminated,
 * and we do; but without session timers (we support none) nothing else ever
 * tells the peer, so its half of the call stays up for good. Between regions
 * that is the normal case of a region link cut longer than Timer F: the home
 * region keeps the callee connected (and the call open, its capacity held,
 * never accounted), or the edge keeps the carrier connected and recording.
 *
 * So a failed BYE is sent again as a new request in the same dialog (new
 * CSeq, §12.2.1.1) `intervalMs` after the failure, until the peer answers
 * (any final response: 200, or 481 when it already forgot the dialog) or
 * the next try would start `forMs` or more after the first BYE. At most `maxPending` BYEs wait for a
 * retry at once; beyond that a failed BYE is given up at once and counted.
 */

export interface ByeRetryOptions {
  /** Wait after a failed BYE before sending the next one, ms. Default 2000. */
  intervalMs?: number;
  /** No try starts this long or longer after the first BYE, ms. Default 300000 (5 min). */
  forMs?: number;
  /** Most BYEs waiting for a retry at once. Default 10000. */
  maxPending?: number;
  /** Injectable clock, ms. Default Date.now. */
  now?: () => number;
}

/** One try of a BYE: send it, then call `report(true)` on any final response, `report(false)` on a timeout or transport error. */
export type ByeAttempt = (report: (answered: boolean) => void) => void;

export interface ByeRetryCounters {
  /** BYEs sent again after a failure. */
  retried: number;
  /** BYEs that failed and will not be sent again (forMs passed, maxPending reached, or closed). */
  gaveUp: number;
  /** BYEs answered after at least one failure. */
  answeredAfterRetry: number;
}

export class ByeRetries {
  private readonly intervalMs: number;
  private readonly forMs: number;
  private readonly maxPending: number;
  private readonly now: () => number;
  private readonly timers = new Set<NodeJS.Timeout>();
  private closed = false;
  readonly counters: ByeRetryCounters = { retried: 0, gaveUp: 0, answeredAfterRetry: 0 };

  constructor(opts: ByeRetryOptions = {}) {
    this.intervalMs = Math.max(0, opts.intervalMs ?? 2000);
    this.forMs = Math.max(0, opts.forMs ?? 300_000);
    this.maxPending = Math.max(0, opts.maxPending ?? 10_000);
    this.now = opts.now ?? Date.now;
  }

  /** BYEs waiting for their next try. */
  get pending(): number {
    return this.timers.size;
  }

  /**
   * Send a BYE now with `attempt`, and again after each failure as the
   * options say. `onGiveUp` is told once when it will not be sent again.
   */
  send(attempt: ByeAttempt, onGiveUp?: (tries: number) => void): void {
    const first = this.now();
    let tries = 0;
    const run = (): void => {
      tries++;
      let reported = false;
      attempt((answered) => {
        if (reported) return; // a transaction reports once; be safe against a second call
        reported = true;
        if (answered) {
          if (tries > 1) this.counters.answeredAfterRetry++;
          return;
        }
        if (this.closed || this.now() - first + this.intervalMs >= this.forMs || this.timers.size >= this.maxPending) {
          this.counters.gaveUp++;
          onGiveUp?.(tries);
          return;
        }
        const t = setTimeout(() => {
          this.timers.delete(t);
          if (this.closed) return;
          this.counters.retried++;
          run();
        }, this.intervalMs);
        t.unref();
        this.timers.add(t);
      });
    };
    run();
  }

  /** Stop retrying: pending retries are dropped (BYEs in flight finish on their own). Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.counters.gaveUp += this.timers.size;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}
