import { describe, expect, it } from 'vitest';
import { decodeG711, decodeSample, G711_SILENCE } from '../../../../media/central/g711.js';

/** Reference encoders (ITU-T G.711 segment search), written here only to round-trip the decoders. */
function linearToUlaw(sample: number): number {
  const BIAS = 0x84;
  let s = Math.max(-32635, Math.min(32635, sample));
  const sign = s < 0 ? 0x80 : 0;
  if (s < 0) s = -s;
  s += BIAS;
  let exponent = 7;
  for (let mask = 0x4000; (s & mask) === 0 && exponent > 0; mask >>= 1) exponent--;
  const mantissa = (s >> (exponent + 3)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}

function linearToAlaw(sample: number): number {
  let s = Math.max(-32767, Math.min(32767, sample));
  const sign = s >= 0 ? 0x80 : 0;
  if (s < 0) s = -s - 1;
  let byte: number;
  if (s < 256) byte = s >> 4;
  else {
    let exponent = 1;
    while (exponent < 7 && s >= 256 << exponent) exponent++;
    byte = (exponent << 4) | ((s >> (exponent + 3)) & 0x0f);
  }
  return (byte | sign) ^ 0x55;
}

describe('G.711 decoders', () => {
  it('decode the µ-law table end points and silence (ITU-T G.711 table 2a)', () => {
    expect(decodeSample('PCMU', 0x00)).toBe(-32124);
    expect(decodeSample('PCMU', 0x80)).toBe(32124);
    expect(decodeSample('PCMU', 0xff)).toBe(0);
    expect(decodeSample('PCMU', 0x7f)).toBe(0);
    expect(decodeSample('PCMU', 0xfe)).toBe(8);
    expect(decodeSample('PCMU', G711_SILENCE.PCMU)).toBe(0);
  });

  it('decode the A-law table end points and silence (ITU-T G.711 table 1a)', () => {
    expect(decodeSample('PCMA', 0xd5)).toBe(8);
    expect(decodeSample('PCMA', 0x55)).toBe(-8);
    expect(decodeSample('PCMA', 0xaa)).toBe(32256);
    expect(decodeSample('PCMA', 0x2a)).toBe(-32256);
    expect(Math.abs(decodeSample('PCMA', G711_SILENCE.PCMA))).toBeLessThanOrEqual(8);
  });

  it('are monotonic over each sign half and antisymmetric', () => {
    const mu = Array.from({ length: 128 }, (_, i) => decodeSample('PCMU', 0x80 + i));
    for (let i = 1; i < 128; i++) expect(mu[i]).toBeLessThanOrEqual(mu[i - 1] as number);
    for (let b = 0; b < 128; b++) expect(decodeSample('PCMU', b) + decodeSample('PCMU', b + 0x80)).toBe(0);
    for (let b = 0; b < 128; b++) expect(decodeSample('PCMA', b) + decodeSample('PCMA', b + 0x80)).toBe(0);
  });

  it('round-trip a sine through encode → decode within the quantisation step', () => {
    for (const [codec, enc] of [['PCMU', linearToUlaw], ['PCMA', linearToAlaw]] as const) {
      for (let i = 0; i < 400; i++) {
        const x = Math.round(20000 * Math.sin((2 * Math.PI * 440 * i) / 8000));
        const y = decodeSample(codec, enc(x));
        // Logarithmic companding: error bounded by ~3.2 % of the magnitude plus the smallest step.
        expect(Math.abs(y - x)).toBeLessThanOrEqual(Math.abs(x) * 0.035 + 16);
      }
      // Every code word decodes to itself through the encoder (the decoder is the encoder's inverse).
      for (let b = 0; b < 256; b++) {
        const y = decodeSample(codec, b);
        expect(decodeSample(codec, enc(y))).toBe(y);
      }
    }
  });

  it('decodeG711 writes little-endian 16-bit PCM, two bytes per input byte', () => {
    const pcm = decodeG711('PCMU', Uint8Array.from([0x80, 0x00, 0xff]));
    expect(pcm.length).toBe(6);
    expect([pcm.readInt16LE(0), pcm.readInt16LE(2), pcm.readInt16LE(4)]).toEqual([32124, -32124, 0]);
  });
});
