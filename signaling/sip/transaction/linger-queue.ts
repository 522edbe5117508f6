/**
 * Where transactions past their final response wait for their end (Timers D,
 * I, J, K, M, and L once the ACK is in), instead of each holding a timer of
 * its own. At 800 calls/s about 16,000 transactions linger at once; a timer
 * each was a Timeout, a closure and its context apiece, all kept alive and
 * promoted into the old generation for the 5-32 s of the linger, and one
 * timer callback per transaction when it ended.
 *
 * Lingers of one duration end in the order they began, so each duration is a
 * FIFO and one timer serves them all. A transaction ends no earlier than its
 * timer says, and at most `minGapMs` later (the timer never fires more often
 * than that under load). The timer never keeps the process alive.
 */
export interface Lingering {
  readonly isTerminated: boolean;
  terminate(): void;
}

interface Fifo {
  txs: (Lingering | undefined)[];
  due: number[];
  head: number;
}

/** Past this many ended entries at the head (and half the FIFO), the arrays are compacted. */
const COMPACT_AT = 1024;

export class LingerQueue {
  readonly #fifos = new Map<number, Fifo>();
  #timer: NodeJS.Timeout | undefined;
  #timerDue = Infinity;

  constructor(
    private readonly minGapMs = 50,
    private readonly now: () => number = Date.now,
  ) {}

  /** Entries waiting, counting transactions that already ended another way (swept when due). */
  get size(): number {
    let n = 0;
    for (const f of this.#fifos.values()) n += f.txs.length - f.head;
    return n;
  }

  /** End `tx` `ms` from now unless it ended before. */
  add(tx: Lingering, ms: number): void {
    let f = this.#fifos.get(ms);
    if (f === undefined) {
      f = { txs: [], due: [], head: 0 };
      this.#fifos.set(ms, f);
    }
    const due = this.now() + ms;
    f.txs.push(tx);
    f.due.push(due);
    if (due < this.#timerDue) this.#schedule(due);
  }

  /** End every transaction whose time has come (the timer calls this). */
  sweep(): void {
    this.#cancelTimer();
    const now = this.now();
    let next = Infinity;
    for (const [ms, f] of this.#fifos) {
      while (f.head < f.txs.length && f.due[f.head]! <= now) {
        const tx = f.txs[f.head]!;
        f.txs[f.head] = undefined;
        f.head++;
        if (!tx.isTerminated) tx.terminate();
      }
      if (f.head === f.txs.length) {
        this.#fifos.delete(ms);
        continue;
      }
      if (f.head >= COMPACT_AT && f.head * 2 > f.txs.length) {
        f.txs.splice(0, f.head);
        f.due.splice(0, f.head);
        f.head = 0;
      }
      next = Math.min(next, f.due[f.head]!);
    }
    if (next < Infinity) this.#schedule(Math.max(next, now + this.minGapMs));
  }

  /** Forget everything and stop the timer (the layer terminates its transactions itself). */
  clear(): void {
    this.#cancelTimer();
    this.#fifos.clear();
  }

  #schedule(due: number): void {
    this.#cancelTimer();
    this.#timerDue = due;
    this.#timer = setTimeout(() => this.sweep(), Math.max(due - this.now(), 0));
    this.#timer.unref?.();
  }

  #cancelTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerDue = Infinity;
  }
}
