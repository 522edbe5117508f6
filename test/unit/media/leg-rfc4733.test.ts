import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { digitToEvent, eventToDigit, parseDigitString, rtpPacket, telephoneEventPayload, TelephoneEventSender } from '../../../media/leg/rfc4733.js';

interface Sent { t: number; pt: number; marker: boolean; seq: number; ts: number; ssrc: number; event: number; end: boolean; volume: number; duration: number }

function decode(p: Buffer, t: number): Sent {
  return {
    t, pt: p[1]! & 0x7f, marker: (p[1]! & 0x80) !== 0, seq: p.readUInt16BE(2), ts: p.readUInt32BE(4), ssrc: p.readUInt32BE(8),
    event: p[12]!, end: (p[13]! & 0x80) !== 0, volume: p[13]! & 0x3f, duration: p.readUInt16BE(14),
  };
}

describe('DTMF key codes (RFC 4733 §3.2)', () => {
  it('maps keys to events and back', () => {
    expect([...'0123456789*#ABCD'].map((k) => digitToEvent(k))).toEqual([...Array(16).keys()]);
    expect(digitToEvent('a')).toBe(12);
    expect(digitToEvent('x')).toBeUndefined();
    expect(digitToEvent('12')).toBeUndefined();
    expect(eventToDigit(11)).toBe('#');
    expect(eventToDigit(16)).toBeUndefined();
    expect(eventToDigit(2.5)).toBeUndefined();
  });

  it('parses digit strings with w pauses and rejects other characters', () => {
    expect(parseDigitString('1w#b')).toEqual([{ kind: 'tone', event: 1, key: '1' }, { kind: 'pause' }, { kind: 'tone', event: 11, key: '#' }, { kind: 'tone', event: 13, key: 'B' }]);
    expect(parseDigitString('')).toEqual([]);
    expect(() => parseDigitString('12x')).toThrow(/"x" is not a DTMF digit/);
    expect(() => parseDigitString('1'.repeat(257))).toThrow(/exceeds 256/);
  });
});

describe('telephone-event packets', () => {
  it('lays out the payload as RFC 4733 §2.3 and the header as RFC 3550 §5.1', () => {
    expect(telephoneEventPayload({ event: 11, end: true, volume: 10, duration: 800 }).toString('hex')).toBe('0b8a0320');
    const p = rtpPacket({ payloadType: 101, marker: true, seq: 0x1234, timestamp: 0xdeadbeef, ssrc: 7 }, Buffer.from([1, 2]));
    expect(p.toString('hex')).toBe('80e51234deadbeef000000070102');
  });
});

describe('TelephoneEventSender', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  function sender(opts = {}): { s: TelephoneEventSender; sent: Sent[] } {
    const sent: Sent[] = [];
    const s = new TelephoneEventSender((p) => sent.push(decode(p, Date.now())), opts, () => Date.now());
    return { s, sent };
  }

  it('sends each tone as updates every 20 ms and three end packets, one timestamp per tone', async () => {
    const { s, sent } = sender();
    const t0 = Date.now();
    const done = s.play(parseDigitString('1#'));
    await vi.runAllTimersAsync();
    await done;
    const one = sent.filter((p) => p.event === 1);
    const pound = sent.filter((p) => p.event === 11);
    expect(one.map((p) => p.duration)).toEqual([160, 320, 480, 640, 800, 800, 800]);
    expect(one.map((p) => p.end)).toEqual([false, false, false, false, true, true, true]);
    expect(one.map((p) => p.marker)).toEqual([true, false, false, false, false, false, false]);
    expect(one.map((p) => p.t - t0)).toEqual([20, 40, 60, 80, 100, 120, 140]);
    expect(new Set(one.map((p) => p.ts)).size).toBe(1);
    // '#' starts after the end copies and a 100 ms gap; its timestamp follows real time at 8 kHz.
    expect(pound[0]!.t - t0).toBe(260);
    expect((pound[0]!.ts - one[0]!.ts) >>> 0).toBe(240 * 8);
    expect(new Set(sent.map((p) => p.ssrc)).size).toBe(1);
    expect(new Set(sent.map((p) => p.pt))).toEqual(new Set([101]));
    const seqs = sent.map((p) => p.seq);
    expect(seqs.slice(1).every((q, i) => q === ((seqs[i]! + 1) & 0xffff))).toBe(true);
  });

  it('waits 500 ms for w', async () => {
    const { s, sent } = sender();
    const t0 = Date.now();
    const done = s.play(parseDigitString('w2'));
    await vi.runAllTimersAsync();
    await done;
    expect(sent[0]!.t - t0).toBe(520);
  });

  it('on abort ends the current tone at once and sends nothing more', async () => {
    const { s, sent } = sender();
    const ac = new AbortController();
    const done = s.play(parseDigitString('12'), ac.signal);
    await vi.advanceTimersByTimeAsync(50);
    ac.abort();
    await done;
    const after = sent.length;
    await vi.runAllTimersAsync();
    expect(sent.length).toBe(after);
    expect(sent.every((p) => p.event === 1)).toBe(true);
    expect(sent.slice(-3).map((p) => [p.end, p.duration])).toEqual([[true, 320], [true, 320], [true, 320]]);
  });

  it('refuses settings RFC 4733 cannot carry', () => {
    expect(() => new TelephoneEventSender(() => undefined, { payloadType: 8 })).toThrow(/not dynamic/);
    expect(() => new TelephoneEventSender(() => undefined, { toneMs: 9000 })).toThrow(/40-5000/);
    expect(() => new TelephoneEventSender(() => undefined, { volume: 70 })).toThrow(/0-63/);
  });
});
