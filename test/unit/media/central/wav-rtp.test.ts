import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseRtp } from '../../../../media/central/rtp.js';
import { parseWav, WavFileWriter, wavHeader } from '../../../../media/central/wav.js';

describe('WAV', () => {
  it('writes a 44-byte PCM header that parseWav reads back', () => {
    const h = wavHeader(16000);
    expect(h.length).toBe(44);
    expect(h.toString('ascii', 0, 4)).toBe('RIFF');
    expect(h.readUInt32LE(4)).toBe(36 + 16000);
    const info = parseWav(Buffer.concat([h, Buffer.alloc(16000)]));
    expect(info).toEqual({ sampleRate: 8000, channels: 1, bitsPerSample: 16, dataBytes: 16000, durationSec: 1 });
  });

  it('rejects what is not a PCM WAV', () => {
    expect(() => parseWav(Buffer.from('hello world, not a wav'))).toThrow(/RIFF/);
    const h = wavHeader(0);
    h.writeUInt16LE(3, 20); // IEEE float
    expect(() => parseWav(h)).toThrow(/linear PCM/);
  });

  it('WavFileWriter streams samples and patches the sizes on finish (idempotently)', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'wav-')), 'x.wav');
    const w = await WavFileWriter.create(path);
    w.append(Buffer.alloc(320, 1));
    w.append(Buffer.alloc(320, 2));
    await w.finish();
    await w.finish();
    const buf = readFileSync(path);
    expect(buf.length).toBe(44 + 640);
    expect(parseWav(buf).durationSec).toBeCloseTo(0.04, 6);
    expect(buf[44 + 320]).toBe(2);
  });
});

describe('parseRtp (RFC 3550 §5.1)', () => {
  const base = (): Buffer => {
    const b = Buffer.alloc(12 + 160, 0xff);
    b[0] = 0x80;
    b[1] = 0x80 | 8;
    b.writeUInt16BE(513, 2);
    b.writeUInt32BE(0xfffffff0, 4);
    b.writeUInt32BE(0xabcdef01, 8);
    return b;
  };

  it('reads the fixed header and the payload', () => {
    const r = parseRtp(base());
    expect(r).toMatchObject({ payloadType: 8, marker: true, seq: 513, timestamp: 0xfffffff0, ssrc: 0xabcdef01 });
    expect(r?.payload.length).toBe(160);
  });

  it('skips CSRCs, a header extension and padding', () => {
    const payload = Buffer.alloc(160, 0x11);
    const hdr = Buffer.alloc(12);
    hdr[0] = 0x80 | 0x20 | 0x10 | 1; // P, X, CC=1
    hdr[1] = 0;
    const csrc = Buffer.alloc(4);
    const ext = Buffer.from([0xbe, 0xde, 0x00, 0x01, 1, 2, 3, 4]);
    const pad = Buffer.from([0, 0, 3]);
    const r = parseRtp(Buffer.concat([hdr, csrc, ext, payload, pad]));
    expect(r?.payload.equals(payload)).toBe(true);
  });

  it('rejects short, non-v2 and RTCP packets', () => {
    expect(parseRtp(Buffer.alloc(8))).toBeUndefined();
    const v1 = base();
    v1[0] = 0x40;
    expect(parseRtp(v1)).toBeUndefined();
    const rtcp = base();
    rtcp[1] = 200; // sender report
    expect(parseRtp(rtcp)).toBeUndefined();
  });
});
