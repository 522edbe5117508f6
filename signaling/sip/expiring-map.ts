/**
 * A map whose entries are forgotten `ttlMs` after they were last set, swept by
 * one timer for the whole map instead of one timer per entry. At hundreds of
 * calls per second, state kept for 64*T1 (32 s) after a call (ACKs to re-send,
 * ended legs to answer retransmissions) would otherwise hold ten thousand
 * live timers, each a closure that keeps its entry reachable.
 *
 * An entry lives at least `ttlMs` and at most `ttlMs + sweepMs`. The sweep
 * timer runs only while the map is not empty and never keeps the process alive.
 */
export class ExpiringMap<K, V> {
  /** Insertion-ordered, and `set` re-inserts: the first entries are the first to expire. */
  readonly #entries = new Map<K, { value: V; expiresAt: number }>();
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly ttlMs: number,
    private readonly sweepMs = 1000,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.#entries.size;
  }

  /** Add or replace; the entry's lifetime starts again. */
  set(key: K, value: V): void {
    this.#entries.delete(key);
    this.#entries.set(key, { value, expiresAt: this.now() + this.ttlMs });
    if (this.#timer === undefined) {
      this.#timer = setInterval(() => this.sweep(), this.sweepMs);
      this.#timer.unref();
    }
  }

  get(key: K): V | undefined {
    const e = this.#entries.get(key);
    return e === undefined || e.expiresAt <= this.now() ? undefined : e.value;
  }

  has(key: K): boolean {
    return this.get(key) !== undefined;
  }

  delete(key: K): boolean {
    const had = this.#entries.delete(key);
    if (this.#entries.size === 0) this.#stop();
    return had;
  }

  /** Forget every entry and stop the timer. */
  clear(): void {
    this.#entries.clear();
    this.#stop();
  }

  /** Drop the entries whose time has come (the timer calls this; tests may too). */
  sweep(): void {
    const now = this.now();
    for (const [key, e] of this.#entries) {
      if (e.expiresAt > now) break; // the rest were set later
      this.#entries.delete(key);
    }
    if (this.#entries.size === 0) this.#stop();
  }

  #stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
