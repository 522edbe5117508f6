/**
 * Records one media branch: RTP (G.711) arriving on one UDP port is
 * reordered by sequence number, decoded to 16-bit PCM and streamed into a
 * WAV file; finish() writes the header sizes, the SHA-256 and the JSON
 * metadata.
 *
 * Timing follows the RTP timestamp (RFC 3550 §5.1: sampling instant of the
 * first octet), so a lost packet or a sender pause becomes silence of the
 * right length and the WAV lasts as long as the media did. A timestamp jump
 * beyond `maxGapSec` is treated as a sender restart, not as a pause to fill.
 *
 * Bounded: packets above 1500 bytes are ignored, the recording stops growing
 * at `maxDurationSec`, and a branch idle for `idleTimeoutMs` finishes by itself.
 */
import dgram from 'node:dgram';
import { mkdir, rename } from 'node:fs/promises';
import { MeshError } from '../../regions/core/errors.js';
import { decodeG711, G711_PAYLOAD_TYPE, G711_SILENCE, type G711Codec } from './g711.js';
import { branchPaths, sha256File, writeFileAtomic, type BranchMetadata } from './metadata.js';
import { ReorderBuffer, type ReorderBufferOptions, type RtpIn } from './reorder-buffer.js';
import { parseRtp } from './rtp.js';
import { WavFileWriter } from './wav.js';

const SAMPLE_RATE = 8000;
const MAX_PACKET_BYTES = 1500;

export interface BranchRecorderOptions {
  callSid: string;
  branchId: string;
  codec: G711Codec;
  region: string;
  dataDir: string;
  /** A bound UDP socket; the recorder owns it from now on and closes it. */
  socket: dgram.Socket;
  /** Longest recording; later audio is dropped. Default 14400 s (4 h). */
  maxDurationSec?: number;
  /** Finish by itself after this long without a packet (counted from open). Default 60000 ms. */
  idleTimeoutMs?: number;
  /** Longest timestamp gap filled with silence. Default 10 s. */
  maxGapSec?: number;
  reorder?: ReorderBufferOptions;
  /** Told when the recorder finished (by finish() or idle timeout). */
  onFinished?: (meta: BranchMetadata | undefined, error?: unknown) => void;
}

export interface BranchRecorderStats {
  packets: number;
  /** Packets not of the branch's codec (telephone-event, comfort noise), RTCP or malformed. */
  ignored: number;
  ssrcChanges: number;
  samples: number;
  truncated: boolean;
}

export class BranchRecorder {
  private readonly opts: BranchRecorderOptions;
  private readonly reorder: ReorderBuffer;
  private writer: WavFileWriter | undefined;
  private ssrc: number | undefined;
  /** RTP timestamp of the next expected sample (of the current SSRC). */
  private nextTs: number | undefined;
  private firstPacketAt: Date | undefined;
  private idleTimer: NodeJS.Timeout;
  private finishing: Promise<BranchMetadata> | undefined;
  /** The G.711 law being recorded: as opened, until the first audio packet says otherwise. */
  private codec: G711Codec;
  readonly stats: BranchRecorderStats = { packets: 0, ignored: 0, ssrcChanges: 0, samples: 0, truncated: false };

  private constructor(opts: BranchRecorderOptions) {
    this.opts = opts;
    this.codec = opts.codec;
    this.reorder = new ReorderBuffer((p) => this.write(p), opts.reorder);
    this.idleTimer = this.armIdle();
    opts.socket.on('message', (m) => this.onDatagram(m));
    opts.socket.on('error', () => undefined);
  }

  /** Create the WAV file and start listening. */
  static async open(opts: BranchRecorderOptions): Promise<BranchRecorder> {
    const paths = branchPaths(opts.dataDir, opts.callSid, opts.branchId, 'live');
    await mkdir(paths.dir, { recursive: true });
    const r = new BranchRecorder(opts);
    r.writer = await WavFileWriter.create(`${paths.wav}.part`, SAMPLE_RATE);
    return r;
  }

  get isFinished(): boolean {
    return this.finishing !== undefined;
  }

  get durationSec(): number {
    return this.stats.samples / SAMPLE_RATE;
  }

  /** Stop receiving, flush, write WAV + metadata. Idempotent. */
  finish(): Promise<BranchMetadata> {
    this.finishing ??= this.doFinish().then(
      (meta) => {
        this.opts.onFinished?.(meta);
        return meta;
      },
      (e: unknown) => {
        this.opts.onFinished?.(undefined, e);
        throw e;
      },
    );
    return this.finishing;
  }

  private async doFinish(): Promise<BranchMetadata> {
    clearTimeout(this.idleTimer);
    await new Promise<void>((r) => {
      try {
        this.opts.socket.close(() => r());
      } catch {
        r();
      }
    });
    this.reorder.flush();
    const writer = this.writer;
    if (writer === undefined) throw new MeshError('INTERNAL', 'branch recorder finished before it was opened');
    const { dataBytes } = await writer.finish();
    const paths = branchPaths(this.opts.dataDir, this.opts.callSid, this.opts.branchId, 'live');
    await rename(writer.path, paths.wav);
    const meta: BranchMetadata = {
      callSid: this.opts.callSid,
      branchId: this.opts.branchId,
      region: this.opts.region,
      source: 'live',
      codec: this.codec,
      start: this.firstPacketAt?.toISOString() ?? null,
      duration: this.stats.samples / SAMPLE_RATE,
      packets: this.stats.packets,
      lost: this.reorder.stats.lost,
      sha256: await sha256File(paths.wav),
      bytes: 44 + dataBytes,
    };
    await writeFileAtomic(paths.json, JSON.stringify(meta, null, 2) + '\n');
    return meta;
  }

  private armIdle(): NodeJS.Timeout {
    const t = setTimeout(() => void this.finish().catch(() => undefined), this.opts.idleTimeoutMs ?? 60_000);
    t.unref();
    return t;
  }

  private onDatagram(msg: Buffer): void {
    if (this.finishing !== undefined) return;
    const rtp = msg.length > MAX_PACKET_BYTES ? undefined : parseRtp(msg);
    // The fork forwards whichever G.711 law the call negotiated; the first audio packet decides
    // (the branch was opened before the subscription's codec was known).
    if (rtp !== undefined && this.stats.packets === 0) {
      if (rtp.payloadType === G711_PAYLOAD_TYPE.PCMU) this.codec = 'PCMU';
      else if (rtp.payloadType === G711_PAYLOAD_TYPE.PCMA) this.codec = 'PCMA';
    }
    if (rtp === undefined || rtp.payloadType !== G711_PAYLOAD_TYPE[this.codec]) {
      this.stats.ignored++;
      return;
    }
    this.idleTimer.refresh();
    this.stats.packets++;
    this.firstPacketAt ??= new Date();
    if (this.ssrc !== rtp.ssrc) {
      if (this.ssrc !== undefined) {
        // A new source (re-anchor, restarted fork): release the old stream, continue the timeline.
        this.stats.ssrcChanges++;
        this.reorder.flush();
        this.nextTs = undefined;
      }
      this.ssrc = rtp.ssrc;
    }
    this.reorder.push({ seq: rtp.seq, timestamp: rtp.timestamp, payload: rtp.payload }, performance.now());
  }

  private write(p: RtpIn): void {
    const writer = this.writer;
    if (writer === undefined) return;
    const maxSamples = (this.opts.maxDurationSec ?? 14_400) * SAMPLE_RATE;
    if (this.nextTs !== undefined) {
      // Signed 32-bit distance: timestamps wrap (RFC 3550 §5.1).
      const gap = ((p.timestamp - this.nextTs) | 0);
      if (gap > 0 && gap <= (this.opts.maxGapSec ?? 10) * SAMPLE_RATE) this.append(Buffer.alloc(gap, G711_SILENCE[this.codec]), maxSamples);
      // gap < 0: overlapping or repeated audio; write it as it came rather than guess.
    }
    this.append(p.payload, maxSamples);
    this.nextTs = (p.timestamp + p.payload.length) >>> 0;
  }

  private append(g711: Buffer, maxSamples: number): void {
    const room = maxSamples - this.stats.samples;
    if (room <= 0) {
      this.stats.truncated = true;
      return;
    }
    const chunk = g711.length > room ? g711.subarray(0, room) : g711;
    if (chunk.length < g711.length) this.stats.truncated = true;
    this.stats.samples += chunk.length;
    this.writer?.append(decodeG711(this.codec, chunk));
  }
}
