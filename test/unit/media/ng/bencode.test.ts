import { describe, expect, it } from 'vitest';
import { bencodeDecode, bencodeEncode, isBencodeDict } from '../../../../media/ng/bencode.js';
import { MeshError } from '../../../../regions/core/errors.js';

function expectBadGateway(fn: () => unknown, fragment: string): void {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(MeshError);
    expect((e as MeshError).code).toBe('BAD_GATEWAY');
    expect((e as MeshError).message).toContain(fragment);
    return;
  }
  throw new Error('expected a BAD_GATEWAY MeshError');
}

describe('bencodeEncode', () => {
  it('encodes the four types as BEP 3 says', () => {
    expect(bencodeEncode('spam').toString()).toBe('4:spam');
    expect(bencodeEncode(42).toString()).toBe('i42e');
    expect(bencodeEncode(-3).toString()).toBe('i-3e');
    expect(bencodeEncode(0).toString()).toBe('i0e');
    expect(bencodeEncode(['a', 1]).toString()).toBe('l1:ai1ee');
    expect(bencodeEncode({}).toString()).toBe('de');
  });

  it('sorts dictionary keys by raw bytes and skips undefined values', () => {
    const out = bencodeEncode({ zeta: 1, 'call-id': 'x', Alpha: 2, skip: undefined }).toString();
    expect(out).toBe('d5:Alphai2e7:call-id1:x4:zetai1ee');
  });

  it('counts string length in bytes, not UTF-16 units', () => {
    expect(bencodeEncode('é').toString('latin1')).toBe('2:\u00c3\u00a9');
    expect(bencodeEncode(Buffer.from([0, 255, 10]))).toEqual(Buffer.from([0x33, 0x3a, 0, 255, 10]));
  });

  it('encodes booleans as the ng "yes"/"no" strings', () => {
    expect(bencodeEncode({ flag: true, other: false }).toString()).toBe('d4:flag3:yes5:other2:noe');
  });

  it('rejects floats, null and too-deep nesting', () => {
    expectBadGateway(() => bencodeEncode(1.5), 'not a safe integer');
    expectBadGateway(() => bencodeEncode({ a: null as unknown as string }), 'cannot encode null');
    let deep: unknown = 'x';
    for (let i = 0; i < 40; i++) deep = [deep];
    expectBadGateway(() => bencodeEncode(deep as string[], { maxDepth: 32 }), 'nesting deeper than 32');
  });

  it('rejects output larger than maxBytes', () => {
    expectBadGateway(() => bencodeEncode('x'.repeat(100), { maxBytes: 50 }), 'exceeds 50 bytes');
  });

  it('puts Buffer values between runs of UTF-8 text byte for byte', () => {
    const out = bencodeEncode({ b: Buffer.from([0xff, 0x00]), a: 'é', z: ['ü', Buffer.from('x')] });
    expect(out).toEqual(
      Buffer.concat([Buffer.from('d1:a2:é1:b2:', 'utf8'), Buffer.from([0xff, 0x00]), Buffer.from('1:zl2:ü1:xee', 'utf8')]),
    );
  });

  it('sorts non-ASCII keys by their UTF-8 bytes, where UTF-16 order differs', () => {
    // U+FFFD is EF BF BD in UTF-8, before F0 9F 98 80 (U+1F600); as UTF-16 units it sorts after.
    const out = bencodeEncode({ '\u{1F600}': 1, '\uFFFD': 2 }).toString('utf8');
    expect(out).toBe('d3:\uFFFDi2e4:\u{1F600}i1ee');
  });

  it('names where in the value the unencodable part sits', () => {
    expectBadGateway(() => bencodeEncode({ a: [1, { b: 1.5 }] }), '$.a[1].b: 1.5 is not a safe integer');
  });
});

describe('bencodeDecode', () => {
  it('round-trips a typical ng reply', () => {
    const value = {
      result: 'ok',
      sdp: 'v=0\r\no=- 1 1 IN IP4 127.0.8.11\r\n',
      totals: { RTP: { packets: 10, bytes: 1720, errors: 0 } },
      calls: ['a', 'b'],
      empty: [],
    };
    expect(bencodeDecode(bencodeEncode(value))).toEqual(value);
  });

  it('returns Buffers for strings when asked (binary-safe)', () => {
    const raw = Buffer.from([1, 2, 0, 254]);
    const out = bencodeDecode(bencodeEncode({ k: raw }), { strings: 'buffer' });
    expect(isBencodeDict(out)).toBe(true);
    expect((out as Record<string, unknown>).k).toEqual(raw);
  });

  it('keeps "__proto__" keys as plain data', () => {
    const out = bencodeDecode('d9:__proto__i1ee') as Record<string, unknown>;
    expect(Object.keys(out)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it.each([
    ['', 'empty input'],
    ['i12', 'unterminated integer'],
    ['i01e', 'malformed integer'],
    ['i-0e', 'malformed integer'],
    ['ie', 'malformed integer'],
    ['i99999999999999999999e', 'out of safe range'],
    ['5:abc', 'runs past end of input'],
    ['03:abc', 'leading zero'],
    ['l1:a', 'unexpected end of input'],
    ['di1ei2ee', 'dictionary key is not a string'],
    ['d1:ai1e1:ai2ee', 'duplicate dictionary key'],
    ['i1ei2e', 'trailing bytes'],
    ['x', 'unexpected byte 0x78'],
  ])('rejects %j with "%s"', (input, fragment) => {
    expectBadGateway(() => bencodeDecode(input), fragment);
  });

  it('names the offset of the problem', () => {
    try {
      bencodeDecode('l1:ai1ex');
      throw new Error('should have thrown');
    } catch (e) {
      expect((e as MeshError).message).toMatch(/at offset 7$/);
      expect((e as MeshError).detail).toEqual({ offset: 7 });
    }
  });

  it('enforces maxBytes before parsing', () => {
    expectBadGateway(() => bencodeDecode('4:spam', { maxBytes: 5 }), 'exceeds 5 bytes');
  });

  it('enforces maxDepth', () => {
    const deep = 'l'.repeat(10) + 'e'.repeat(10);
    expect(() => bencodeDecode(deep, { maxDepth: 10 })).not.toThrow();
    expectBadGateway(() => bencodeDecode(deep, { maxDepth: 9 }), 'nesting deeper than 9');
    // Deep enough to blow the stack if unbounded.
    expectBadGateway(() => bencodeDecode('l'.repeat(100_000)), 'nesting deeper than 32');
  });

  it('rejects a string length longer than the input without allocating it', () => {
    expectBadGateway(() => bencodeDecode('99999999999:x'), 'exceeds input');
  });
});
