/**
 * Jitter-tolerant reordering of one RTP stream by sequence number.
 *
 * Sequence numbers are 16-bit and wrap; they are extended to a running
 * counter as in RFC 3550 Appendix A.1. A packet is held until every earlier
 * one has arrived, or until the buffer holds `depth` packets or its oldest
 * packet has waited `maxHoldMs` — then the gap is declared lost and skipped.
 * A jump beyond MAX_DROPOUT ahead or MAX_MISORDER behind (the RFC's values)
 * is a restart of the sender's sequence: everything held is released and the
 * stream continues from the new number.
 */

export interface RtpIn {
  seq: number;
  timestamp: number;
  payload: Buffer;
}

export interface ReorderStats {
  released: number;
  /** Sequence numbers skipped because they never arrived in time. */
  lost: number;
  duplicates: number;
  /** Packets that arrived after their slot was released or skipped. */
  late: number;
  resyncs: number;
}

export interface ReorderBufferOptions {
  /** Most packets held waiting for a gap to fill. Default 16 (320 ms of 20 ms packets). */
  depth?: number;
  /** Longest a packet waits for earlier ones, ms. Default 200. */
  maxHoldMs?: number;
}

/** RFC 3550 Appendix A.1. */
const MAX_DROPOUT = 3000;
const MAX_MISORDER = 100;

export class ReorderBuffer {
  private readonly depth: number;
  private readonly maxHoldMs: number;
  private readonly held = new Map<number, { pkt: RtpIn; at: number }>();
  /** Highest extended sequence number seen. */
  private highest: number | undefined;
  /** Next extended sequence number to release. */
  private next = 0;
  readonly stats: ReorderStats = { released: 0, lost: 0, duplicates: 0, late: 0, resyncs: 0 };

  constructor(
    private readonly release: (pkt: RtpIn) => void,
    opts: ReorderBufferOptions = {},
  ) {
    this.depth = Math.max(1, opts.depth ?? 16);
    this.maxHoldMs = Math.max(0, opts.maxHoldMs ?? 200);
  }

  get heldCount(): number {
    return this.held.size;
  }

  push(pkt: RtpIn, nowMs: number): void {
    const seq = pkt.seq & 0xffff;
    if (this.highest === undefined) {
      this.highest = seq;
      this.next = seq;
    } else {
      // Signed 16-bit distance from the highest sequence number seen.
      const delta = ((seq - (this.highest & 0xffff) + 0x8000) & 0xffff) - 0x8000;
      if (delta > MAX_DROPOUT || delta < -MAX_MISORDER) {
        this.flush();
        this.stats.resyncs++;
        this.highest = seq;
        this.next = seq;
      } else {
        const ext = this.highest + delta;
        if (ext > this.highest) this.highest = ext;
        return this.accept(ext, pkt, nowMs);
      }
    }
    this.accept(this.highest, pkt, nowMs);
  }

  /** Release everything held, in order, counting the gaps as lost (end of stream). */
  flush(): void {
    const keys = [...this.held.keys()].sort((a, b) => a - b);
    for (const k of keys) {
      const h = this.held.get(k);
      if (h === undefined) continue;
      this.stats.lost += k - this.next;
      this.held.delete(k);
      this.emit(h.pkt);
      this.next = k + 1;
    }
  }

  private accept(ext: number, pkt: RtpIn, nowMs: number): void {
    if (ext < this.next) {
      this.stats.late++;
      return;
    }
    if (this.held.has(ext)) {
      this.stats.duplicates++;
      return;
    }
    this.held.set(ext, { pkt, at: nowMs });
    this.drain();
    // Give up on the gap when the buffer is full or its oldest packet waited long enough.
    while (this.held.size > 0 && (this.held.size >= this.depth || this.oldestAt() <= nowMs - this.maxHoldMs)) {
      const first = Math.min(...this.held.keys());
      this.stats.lost += first - this.next;
      this.next = first;
      this.drain();
    }
  }

  private drain(): void {
    for (let h = this.held.get(this.next); h !== undefined; h = this.held.get(this.next)) {
      this.held.delete(this.next);
      this.next++;
      this.emit(h.pkt);
    }
  }

  private oldestAt(): number {
    let min = Infinity;
    for (const h of this.held.values()) if (h.at < min) min = h.at;
    return min;
  }

  private emit(pkt: RtpIn): void {
    this.stats.released++;
    this.release(pkt);
  }
}
