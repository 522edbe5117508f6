/**
 * Probe RTP packets and what the receiver computes from them.
 *
 * Each packet is a 20 ms PCMU RTP packet (RFC 3550 §5.1: 12-byte header,
 * 160 bytes of payload) whose payload starts with the send time
 * (`process.hrtime.bigint()`, CLOCK_MONOTONIC, the same clock in every thread
 * and process of this machine) and the stream number. rtpengine relays
 * PCMU → PCMU without touching the payload, so the receiver reads the send
 * time back and gets the one-way latency without any clock sync.
 */

export const RTP_HEADER_BYTES = 12;
export const PCMU_PAYLOAD_BYTES = 160;
export const PACKET_BYTES = RTP_HEADER_BYTES + PCMU_PAYLOAD_BYTES;
/** RTP timestamp units per 20 ms packet at 8 kHz. */
const SAMPLES_PER_PACKET = 160;

/** Fill the probe fields of a packet buffer (reused per stream to avoid garbage). */
export function stampPacket(buf: Buffer, stream: number, seq: number, sentNs: bigint): void {
  buf[0] = 0x80; // V=2, no padding/extension/CSRC
  buf[1] = 0; // M=0, PT 0 = PCMU (RFC 3551 §6)
  buf.writeUInt16BE(seq & 0xffff, 2);
  buf.writeUInt32BE((seq * SAMPLES_PER_PACKET) >>> 0, 4);
  buf.writeUInt32BE((0x10000 + stream) >>> 0, 8); // SSRC
  buf.writeBigUInt64BE(sentNs, RTP_HEADER_BYTES);
  buf.writeUInt32BE(stream, RTP_HEADER_BYTES + 8);
  buf.writeUInt32BE(seq, RTP_HEADER_BYTES + 12);
}

export interface ProbeFields {
  stream: number;
  seq: number;
  sentNs: bigint;
}

export function readPacket(msg: Buffer): ProbeFields | undefined {
  if (msg.length < RTP_HEADER_BYTES + 16 || (msg[0] ?? 0) >> 6 !== 2) return undefined;
  return {
    sentNs: msg.readBigUInt64BE(RTP_HEADER_BYTES),
    stream: msg.readUInt32BE(RTP_HEADER_BYTES + 8),
    seq: msg.readUInt32BE(RTP_HEADER_BYTES + 12),
  };
}

interface StreamState {
  lastTransitNs: bigint | undefined;
  /** RFC 3550 §6.4.1 interarrival jitter estimate, in ns. */
  jitterNs: number;
  received: number;
  maxSeq: number;
}

/**
 * Collects latency and jitter for a set of streams. Samples are recorded only
 * for packets *sent* inside the window [fromNs, toNs) (after warm-up, so the
 * sender can count what it sent in the same window and loss is exact); jitter
 * state is kept throughout so the estimator has converged when the window opens.
 */
export class ProbeCollector {
  window: { fromNs: bigint; toNs: bigint } = { fromNs: -1n, toNs: -1n };
  readonly latencyMs: number[] = [];
  readonly jitterMs: number[] = [];
  private readonly streams: StreamState[];
  /** Packets of unknown streams or malformed. */
  strays = 0;

  constructor(streamCount: number) {
    this.streams = Array.from({ length: streamCount }, () => ({ lastTransitNs: undefined, jitterNs: 0, received: 0, maxSeq: -1 }));
  }

  onPacket(msg: Buffer, receivedNs: bigint): void {
    const p = readPacket(msg);
    const s = p === undefined ? undefined : this.streams[p.stream];
    if (p === undefined || s === undefined) {
      this.strays++;
      return;
    }
    const transit = receivedNs - p.sentNs;
    if (s.lastTransitNs !== undefined) {
      // RFC 3550 §6.4.1: D = (Rj - Ri) - (Sj - Si) = transit_j - transit_i; J += (|D| - J) / 16.
      const d = Math.abs(Number(transit - s.lastTransitNs));
      s.jitterNs += (d - s.jitterNs) / 16;
    }
    s.lastTransitNs = transit;
    s.maxSeq = Math.max(s.maxSeq, p.seq);
    if (p.sentNs < this.window.fromNs || p.sentNs >= this.window.toNs) return;
    s.received++;
    this.latencyMs.push(Number(transit) / 1e6);
    this.jitterMs.push(s.jitterNs / 1e6);
  }

  /** Packets received that were sent inside the window, over all streams. */
  get received(): number {
    return this.streams.reduce((n, s) => n + s.received, 0);
  }
}
