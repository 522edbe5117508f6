import { describe, expect, it } from 'vitest';
import { isMeshError } from '../../../../regions/core/errors.js';
import { SendQueue } from '../../../../regions/link/send-queue.js';

const frame = (n: number): Buffer => Buffer.alloc(n);

describe('SendQueue', () => {
  it('keeps order and drains everything', () => {
    const q = new SendQueue();
    q.push({ frame: Buffer.from('a') });
    q.push({ frame: Buffer.from('b'), requestId: 'r1' });
    q.push({ frame: Buffer.from('c') });
    expect(q.size).toBe(3);
    expect(q.bytes).toBe(3);
    expect(q.drain().map((i) => i.frame.toString())).toEqual(['a', 'b', 'c']);
    expect(q.size).toBe(0);
    expect(q.bytes).toBe(0);
  });

  it('refuses past maxItems with SERVICE_UNAVAILABLE', () => {
    const q = new SendQueue({ maxItems: 2, maxBytes: 1000 });
    q.push({ frame: frame(1) });
    q.push({ frame: frame(1) });
    let err: unknown;
    try {
      q.push({ frame: frame(1) });
    } catch (e) {
      err = e;
    }
    expect(isMeshError(err, 'SERVICE_UNAVAILABLE')).toBe(true);
    expect(q.size).toBe(2);
  });

  it('refuses past maxBytes, but accepts a frame that exactly fits', () => {
    const q = new SendQueue({ maxItems: 100, maxBytes: 10 });
    q.push({ frame: frame(6) });
    expect(() => q.push({ frame: frame(5) })).toThrow();
    q.push({ frame: frame(4) });
    expect(q.bytes).toBe(10);
  });

  it('drops a queued request by id and frees its room', () => {
    const q = new SendQueue({ maxItems: 2 });
    q.push({ frame: frame(3), requestId: 'a' });
    q.push({ frame: frame(4), requestId: 'b' });
    expect(q.removeRequest('a')).toBe(true);
    expect(q.removeRequest('a')).toBe(false);
    expect(q.bytes).toBe(4);
    q.push({ frame: frame(1) });
    expect(q.drain().map((i) => i.requestId)).toEqual(['b', undefined]);
  });
});
