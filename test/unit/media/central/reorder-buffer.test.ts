import { describe, expect, it } from 'vitest';
import { ReorderBuffer, type RtpIn } from '../../../../media/central/reorder-buffer.js';

const pkt = (seq: number): RtpIn => ({ seq: seq & 0xffff, timestamp: (seq * 160) >>> 0, payload: Buffer.alloc(0) });

function harness(opts: { depth?: number; maxHoldMs?: number } = {}) {
  const out: number[] = [];
  const rb = new ReorderBuffer((p) => out.push(p.seq), opts);
  return { rb, out };
}

describe('ReorderBuffer', () => {
  it('passes an in-order stream straight through', () => {
    const { rb, out } = harness();
    for (let i = 100; i < 110; i++) rb.push(pkt(i), 0);
    expect(out).toEqual([...Array(10).keys()].map((i) => 100 + i));
    expect(rb.heldCount).toBe(0);
    expect(rb.stats).toMatchObject({ released: 10, lost: 0 });
  });

  it('reorders packets that arrive out of order within the depth', () => {
    const { rb, out } = harness();
    for (const s of [1, 3, 2, 5, 4, 7, 6, 8]) rb.push(pkt(s), 0);
    expect(out).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('declares a gap lost when the buffer reaches its depth', () => {
    const { rb, out } = harness({ depth: 4 });
    rb.push(pkt(10), 0);
    for (const s of [12, 13, 14]) rb.push(pkt(s), 0);
    expect(out).toEqual([10]);
    rb.push(pkt(15), 0);
    expect(out).toEqual([10, 12, 13, 14, 15]);
    expect(rb.stats.lost).toBe(1);
    rb.push(pkt(11), 0); // too late now
    expect(rb.stats.late).toBe(1);
  });

  it('declares a gap lost after maxHoldMs', () => {
    const { rb, out } = harness({ depth: 100, maxHoldMs: 100 });
    rb.push(pkt(1), 0);
    rb.push(pkt(3), 10);
    rb.push(pkt(4), 50);
    expect(out).toEqual([1]);
    rb.push(pkt(5), 111);
    expect(out).toEqual([1, 3, 4, 5]);
    expect(rb.stats.lost).toBe(1);
  });

  it('drops duplicates (held or already released) and follows the sequence number across the 16-bit wrap', () => {
    const { rb, out } = harness();
    for (const s of [65533, 65534, 65534, 0, 0, 65535, 1]) rb.push(pkt(s), 0);
    expect(out).toEqual([65533, 65534, 65535, 0, 1]);
    expect(rb.stats.duplicates).toBe(1); // the second 0, while held
    expect(rb.stats.late).toBe(1); // the second 65534, after release
  });

  it('resynchronises on a jump beyond MAX_DROPOUT (RFC 3550 A.1) instead of waiting for thousands of packets', () => {
    const { rb, out } = harness();
    rb.push(pkt(1), 0);
    rb.push(pkt(3), 0);
    rb.push(pkt(40000), 0);
    rb.push(pkt(40001), 0);
    expect(out).toEqual([1, 3, 40000, 40001]);
    expect(rb.stats.resyncs).toBe(1);
  });

  it('flush releases what is held in order and counts the gaps', () => {
    const { rb, out } = harness();
    for (const s of [1, 4, 6]) rb.push(pkt(s), 0);
    rb.flush();
    expect(out).toEqual([1, 4, 6]);
    expect(rb.stats.lost).toBe(3);
  });
});
