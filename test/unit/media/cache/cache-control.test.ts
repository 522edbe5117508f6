import { describe, expect, it } from 'vitest';
import { parseCacheControl } from '../../../../media/cache/cache-control.js';
import { espeakVoice, sniffAudio, telephonyDurationMs, wavDataBytes } from '../../../../media/cache/transcode.js';

describe('parseCacheControl', () => {
  it('reads no-store, no-cache and max-age', () => {
    expect(parseCacheControl(undefined)).toEqual({ noStore: false, noCache: false, maxAge: undefined });
    expect(parseCacheControl('public, max-age=600')).toEqual({ noStore: false, noCache: false, maxAge: 600 });
    expect(parseCacheControl('No-Store')).toMatchObject({ noStore: true });
    expect(parseCacheControl('no-cache, max-age="30"')).toEqual({ noStore: false, noCache: true, maxAge: 30 });
  });

  it('prefers s-maxage (shared cache) and treats an invalid max-age as stale', () => {
    expect(parseCacheControl('max-age=10, s-maxage=99').maxAge).toBe(99);
    expect(parseCacheControl('max-age=-5').maxAge).toBe(0);
    expect(parseCacheControl('max-age=abc').maxAge).toBe(0);
  });
});

function wav(dataBytes: number): Buffer {
  const h = Buffer.alloc(44);
  h.write('RIFF', 0, 'latin1');
  h.writeUInt32LE(36 + dataBytes, 4);
  h.write('WAVEfmt ', 8, 'latin1');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(1, 22);
  h.writeUInt32LE(8000, 24);
  h.writeUInt32LE(16000, 28);
  h.writeUInt16LE(2, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36, 'latin1');
  h.writeUInt32LE(dataBytes, 40);
  return Buffer.concat([h, Buffer.alloc(dataBytes)]);
}

describe('audio helpers', () => {
  it('sniffs audio containers by magic bytes and nothing else', () => {
    expect(sniffAudio(wav(10))).toBe('wav');
    expect(sniffAudio(Buffer.from('OggS\0\x02\0\0\0\0\0\0\0\0', 'latin1'))).toBe('ogg');
    expect(sniffAudio(Buffer.from('fLaC\0\0\0\x22\0\0\0\0', 'latin1'))).toBe('flac');
    expect(sniffAudio(Buffer.from('ID3\x04\0\0\0\0\0\0\0\0', 'latin1'))).toBe('mp3');
    expect(sniffAudio(Buffer.from('<html><body>hi</body></html>'))).toBeUndefined();
    expect(sniffAudio(Buffer.from('RIFF\0\0\0\0AVI LIST', 'latin1'))).toBeUndefined();
    expect(sniffAudio(Buffer.alloc(4))).toBeUndefined();
  });

  it('measures the data chunk and the duration of telephony WAV', () => {
    expect(wavDataBytes(wav(16000))).toBe(16000);
    expect(telephonyDurationMs(wav(24000))).toBe(1500);
    expect(wavDataBytes(Buffer.from('RIFF\0\0\0\0WAVE', 'latin1'))).toBe(0);
  });

  it('maps dialect voices to espeak-ng voices', () => {
    expect(espeakVoice('man', 'en-US')).toBe('en-us');
    expect(espeakVoice('alice', 'en-GB')).toBe('en-gb+f3');
    expect(espeakVoice('woman', 'de-DE')).toBe('de-de+f3');
  });
});
