import { describe, expect, it } from 'vitest';
import { isMeshError } from '../../../../regions/core/errors.js';
import { FrameDecoder, encodeFrame } from '../../../../regions/link/framing.js';

const payload = (n: number, fill = 7): Buffer => Buffer.alloc(n, fill);

describe('length-prefixed framing', () => {
  it('prefixes the payload with its 4-byte big-endian length', () => {
    const f = encodeFrame(Buffer.from('abc'));
    expect([...f]).toEqual([0, 0, 0, 3, 0x61, 0x62, 0x63]);
  });

  it('cuts frames out of arbitrary chunk boundaries, byte by byte included', () => {
    const frames = [payload(0), payload(1, 1), payload(300, 2), payload(70_000, 3)];
    const stream = Buffer.concat(frames.map(encodeFrame));
    for (const step of [1, 3, 4, 5, 1000, stream.length]) {
      const d = new FrameDecoder(100_000);
      const out: Buffer[] = [];
      for (let i = 0; i < stream.length; i += step) out.push(...d.push(stream.subarray(i, i + step)));
      expect(out.map((b) => b.length)).toEqual([0, 1, 300, 70_000]);
      expect(out.map((b) => b[0] ?? -1)).toEqual([-1, 1, 2, 3]);
      expect(d.bufferedBytes).toBe(0);
    }
  });

  it('returns several frames from one chunk and keeps a partial tail', () => {
    const d = new FrameDecoder(100);
    const two = Buffer.concat([encodeFrame(payload(2)), encodeFrame(payload(3))]);
    const partial = encodeFrame(payload(10)).subarray(0, 7);
    expect(d.push(Buffer.concat([two, partial])).map((b) => b.length)).toEqual([2, 3]);
    expect(d.bufferedBytes).toBe(3);
  });

  it('refuses an oversize length as soon as the header arrives, without buffering the body', () => {
    const d = new FrameDecoder(1024);
    const header = Buffer.alloc(4);
    header.writeUInt32BE(1025, 0);
    expect(() => d.push(header)).toThrow();
    try {
      new FrameDecoder(1024).push(header);
    } catch (e) {
      expect(isMeshError(e, 'TOO_LARGE')).toBe(true);
    }
    // A frame of exactly the limit passes.
    expect(new FrameDecoder(1024).push(encodeFrame(payload(1024)))[0]?.length).toBe(1024);
  });

  it('does not alias a later chunk into an earlier frame', () => {
    const d = new FrameDecoder(100);
    const f = encodeFrame(Buffer.from('hello'));
    const [a] = d.push(Buffer.concat([f.subarray(0, 6), Buffer.alloc(0)]));
    expect(a).toBeUndefined();
    const [b] = d.push(f.subarray(6));
    expect(b?.toString()).toBe('hello');
  });
});
