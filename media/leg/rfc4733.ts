/**
 * DTMF as RTP telephone events (RFC 4733, which obsoletes RFC 2833): the
 * key codes, the 4-byte event payload, and a sender that plays a digit
 * string as a timed packet sequence.
 *
 * Why our own sender rather than rtpengine's `play DTMF`: rtpengine 10.5
 * injects DTMF only into a stream the selected party is already sending
 * ("No SSRC context present for DTMF injection" otherwise) and only when the
 * call was set up with the `inject DTMF` flag, which sends all audio through
 * the transcoder. The platform side of a leg sends nothing until bridged, so
 * the platform sends the events itself, into its own side of the session.
 */
import { randomBytes } from 'node:crypto';
import { MeshError } from '../../regions/core/errors.js';

/** RFC 4733 §3.2 (table 1): event codes 0-15 in key order. */
const KEYS = '0123456789*#ABCD';

export function digitToEvent(key: string): number | undefined {
  if (key.length !== 1) return undefined;
  const i = KEYS.indexOf(key.toUpperCase());
  return i < 0 ? undefined : i;
}

export function eventToDigit(event: number): string | undefined {
  return Number.isInteger(event) && event >= 0 && event < KEYS.length ? KEYS[event] : undefined;
}

export type DigitStep = { kind: 'tone'; event: number; key: string } | { kind: 'pause' };

/** Longest digit string accepted by `parseDigitString`. */
export const MAX_DIGITS = 256;

/** `0-9 * # A-D` (case-insensitive) and `w` (a pause); anything else is BAD_REQUEST. */
export function parseDigitString(digits: string): DigitStep[] {
  if (digits.length > MAX_DIGITS) throw new MeshError('BAD_REQUEST', `digit string of ${digits.length} characters exceeds ${MAX_DIGITS}`);
  const steps: DigitStep[] = [];
  for (const ch of digits) {
    if (ch === 'w' || ch === 'W') {
      steps.push({ kind: 'pause' });
      continue;
    }
    const event = digitToEvent(ch);
    if (event === undefined) throw new MeshError('BAD_REQUEST', `"${ch}" is not a DTMF digit (0-9 * # A-D, w = pause)`);
    steps.push({ kind: 'tone', event, key: KEYS[event] as string });
  }
  return steps;
}

export interface TelephoneEvent {
  event: number;
  end: boolean;
  /** Power level in -dBm0, 0..63 (RFC 4733 §2.3.4). */
  volume: number;
  /** Duration so far in timestamp units (samples at 8 kHz), 0..65535. */
  duration: number;
}

/** RFC 4733 §2.3: event (8 bits), E, R, volume (6 bits), duration (16 bits). */
export function telephoneEventPayload(e: TelephoneEvent): Buffer {
  const b = Buffer.alloc(4);
  b[0] = e.event & 0xff;
  b[1] = (e.end ? 0x80 : 0) | (e.volume & 0x3f);
  b.writeUInt16BE(Math.min(0xffff, Math.max(0, Math.round(e.duration))), 2);
  return b;
}

export interface RtpFields {
  payloadType: number;
  marker: boolean;
  seq: number;
  timestamp: number;
  ssrc: number;
}

/** A fixed 12-byte RTP header (RFC 3550 §5.1, no CSRC, no extension) followed by `payload`. */
export function rtpPacket(h: RtpFields, payload: Buffer): Buffer {
  const p = Buffer.alloc(12 + payload.length);
  p[0] = 0x80;
  p[1] = (h.marker ? 0x80 : 0) | (h.payloadType & 0x7f);
  p.writeUInt16BE(h.seq & 0xffff, 2);
  p.writeUInt32BE(h.timestamp >>> 0, 4);
  p.writeUInt32BE(h.ssrc >>> 0, 8);
  payload.copy(p, 12);
  return p;
}

export interface DtmfToneOptions {
  /** telephone-event payload type on the platform side. Default 101 (platformSdp). */
  payloadType?: number;
  /** Length of each tone. Default 100 ms (at least 40 ms, ITU-T Q.24). */
  toneMs?: number;
  /** Silence between tones. Default 100 ms. */
  gapMs?: number;
  /** Length of a `w` pause. Default 500 ms. */
  pauseMs?: number;
  /** Interval between event packets. Default 20 ms. */
  packetMs?: number;
  /** Power level, -dBm0. Default 10. */
  volume?: number;
}

const SAMPLES_PER_MS = 8;

/**
 * Plays digit strings as telephone-event packets through `transmit`, one
 * SSRC and one sequence space for its lifetime. Per tone (RFC 4733 §2.5.1):
 * every packet carries the tone's start timestamp; the first has the marker
 * bit; each `packetMs` another packet with the duration so far; the final
 * one has the E bit and is sent three times (§2.5.1.4) so that one loss does
 * not leave the far end guessing the length.
 */
export class TelephoneEventSender {
  private readonly pt: number;
  private readonly toneMs: number;
  private readonly gapMs: number;
  private readonly pauseMs: number;
  private readonly packetMs: number;
  private readonly volume: number;
  private readonly ssrc = randomUint32();
  private seq = randomUint32() & 0xffff;
  private readonly tsBase = randomUint32();
  private readonly startedAt: number;
  private sent = 0;

  constructor(
    private readonly transmit: (packet: Buffer) => void,
    opts: DtmfToneOptions = {},
    private readonly clock: () => number = () => performance.now(),
  ) {
    this.pt = opts.payloadType ?? 101;
    this.toneMs = opts.toneMs ?? 100;
    this.gapMs = opts.gapMs ?? 100;
    this.pauseMs = opts.pauseMs ?? 500;
    this.packetMs = opts.packetMs ?? 20;
    this.volume = opts.volume ?? 10;
    if (!Number.isInteger(this.pt) || this.pt < 96 || this.pt > 127) throw new MeshError('CONFIG_INVALID', `telephone-event payload type ${this.pt} is not dynamic (96-127)`);
    // The duration field is 16 bits of 8 kHz samples: 8191 ms at most.
    if (!(this.toneMs >= 40 && this.toneMs <= 5000)) throw new MeshError('CONFIG_INVALID', `DTMF tone of ${this.toneMs} ms is outside 40-5000 ms`);
    if (!(this.packetMs >= 5 && this.packetMs <= this.toneMs)) throw new MeshError('CONFIG_INVALID', `DTMF packet interval ${this.packetMs} ms is outside 5 ms-tone length`);
    if (!(this.gapMs >= 0 && this.pauseMs >= 0)) throw new MeshError('CONFIG_INVALID', 'DTMF gap and pause must not be negative');
    if (!(this.volume >= 0 && this.volume <= 63)) throw new MeshError('CONFIG_INVALID', `DTMF volume ${this.volume} is outside 0-63`);
    this.startedAt = clock();
  }

  /** Packets sent so far. */
  get packetsSent(): number {
    return this.sent;
  }

  /** Play `steps`; resolves when done, or early (after ending the current tone) when `signal` aborts. */
  async play(steps: readonly DigitStep[], signal?: AbortSignal): Promise<void> {
    for (const [i, step] of steps.entries()) {
      if (signal?.aborted === true) return;
      if (step.kind === 'pause') {
        if (!(await sleep(this.pauseMs, signal))) return;
        continue;
      }
      if (!(await this.tone(step.event, signal))) return;
      if (i < steps.length - 1 && !(await sleep(this.gapMs, signal))) return;
    }
  }

  /** One tone; false when aborted. */
  private async tone(event: number, signal: AbortSignal | undefined): Promise<boolean> {
    const timestamp = this.timestampNow();
    const toneSamples = this.toneMs * SAMPLES_PER_MS;
    const step = this.packetMs * SAMPLES_PER_MS;
    let elapsed = 0;
    let first = true;
    while (elapsed < toneSamples) {
      if (!(await sleep(this.packetMs, signal))) {
        // Aborted mid-tone: end it now, or the far end would play it on and on.
        const duration = Math.max(elapsed, step);
        for (let k = 0; k < 3; k++) this.send(event, timestamp, first && k === 0, true, duration);
        return false;
      }
      elapsed = Math.min(elapsed + step, toneSamples);
      const end = elapsed >= toneSamples;
      this.send(event, timestamp, first, end, elapsed);
      first = false;
    }
    // Two more copies of the end packet, at the packet interval (no abort check: the tone is over).
    for (let k = 0; k < 2; k++) {
      await sleep(this.packetMs);
      this.send(event, timestamp, false, true, toneSamples);
    }
    return true;
  }

  private send(event: number, timestamp: number, marker: boolean, end: boolean, duration: number): void {
    const payload = telephoneEventPayload({ event, end, volume: this.volume, duration });
    this.seq = (this.seq + 1) & 0xffff;
    this.sent++;
    this.transmit(rtpPacket({ payloadType: this.pt, marker, seq: this.seq, timestamp, ssrc: this.ssrc }, payload));
  }

  /** RTP clock of this sender (8 kHz, random origin, RFC 3550 §5.1), following real time. */
  private timestampNow(): number {
    return (this.tsBase + Math.round((this.clock() - this.startedAt) * SAMPLES_PER_MS)) >>> 0;
  }
}

/** Resolves true after `ms`, or false as soon as `signal` aborts. */
function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted === true) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** SSRC, first sequence number and timestamp origin are random (RFC 3550 §5.1, §8). */
function randomUint32(): number {
  return randomBytes(4).readUInt32BE(0);
}
