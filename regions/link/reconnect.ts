/**
 * Drives reconnection: try, and on failure wait backoffDelay(attempt) and try
 * again, until a try succeeds or close() is called. Only one attempt is ever in
 * flight and at most one timer is armed.
 *
 * The attempt counter is reset only after a connection stayed up for
 * `stableAfterMs`: a peer that accepts and immediately drops us would otherwise
 * be hammered at the initial delay forever.
 */
import { backoffDelay, type BackoffOptions } from './backoff.js';

export interface ReconnectorOptions {
  /** One connection attempt; resolves once connected. */
  connect: () => Promise<void>;
  backoff?: BackoffOptions;
  /** A connection up at least this long counts as stable (backoff restarts). Default 2000 ms. */
  stableAfterMs?: number;
  /** Injectable for exact schedules in tests. Default Math.random. */
  random?: () => number;
  /** Told about every failed attempt and the delay before the next. */
  onAttemptFailed?: (error: unknown, attempt: number, nextDelayMs: number) => void;
}

export class Reconnector {
  private readonly opts: ReconnectorOptions;
  private timer: NodeJS.Timeout | undefined;
  private inFlight = false;
  private closed = false;
  private attempt = 0;
  /** Attempts made so far (for metrics and tests). */
  attemptsMade = 0;

  constructor(opts: ReconnectorOptions) {
    this.opts = opts;
  }

  /** Connect now (if not already connecting or waiting to retry). */
  start(): void {
    if (this.closed || this.inFlight || this.timer !== undefined) return;
    void this.run();
  }

  /** The connection went down after `uptimeMs` up: schedule a retry. */
  disconnected(uptimeMs: number): void {
    if (this.closed || this.inFlight || this.timer !== undefined) return;
    if (uptimeMs >= (this.opts.stableAfterMs ?? 2000)) this.attempt = 0;
    this.schedule();
  }

  /** Stop retrying; an attempt already in flight finishes but is not retried. Idempotent. */
  close(): void {
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  get isWaiting(): boolean {
    return this.timer !== undefined;
  }

  private schedule(error?: unknown): void {
    const delay = backoffDelay(this.attempt, this.opts.backoff, this.opts.random);
    this.attempt++;
    if (error !== undefined) this.opts.onAttemptFailed?.(error, this.attemptsMade, delay);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.run();
    }, delay);
    // Retrying must not keep a process alive that has nothing else to do.
    this.timer.unref?.();
  }

  private async run(): Promise<void> {
    if (this.closed) return;
    this.inFlight = true;
    this.attemptsMade++;
    try {
      await this.opts.connect();
      this.inFlight = false;
    } catch (e) {
      this.inFlight = false;
      if (!this.closed) this.schedule(e);
    }
  }
}
