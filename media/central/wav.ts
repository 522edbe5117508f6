/**
 * WAV (RIFF) container for 16-bit linear PCM, mono: a 44-byte header
 * (RIFF, `fmt ` chunk with format 1 = PCM, `data` chunk) followed by the
 * samples little-endian. A recording's length is unknown while it is being
 * written, so `WavFileWriter` writes a placeholder header first and patches
 * the two sizes on finish.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { MeshError } from '../../regions/core/errors.js';

export const WAV_HEADER_BYTES = 44;

export function wavHeader(dataBytes: number, sampleRate = 8000, channels = 1, bitsPerSample = 16): Buffer {
  const h = Buffer.alloc(WAV_HEADER_BYTES);
  const blockAlign = (channels * bitsPerSample) / 8;
  h.write('RIFF', 0, 'ascii');
  h.writeUInt32LE(36 + dataBytes, 4);
  h.write('WAVE', 8, 'ascii');
  h.write('fmt ', 12, 'ascii');
  h.writeUInt32LE(16, 16); // fmt chunk size for PCM
  h.writeUInt16LE(1, 20); // audio format 1 = linear PCM
  h.writeUInt16LE(channels, 22);
  h.writeUInt32LE(sampleRate, 24);
  h.writeUInt32LE(sampleRate * blockAlign, 28);
  h.writeUInt16LE(blockAlign, 32);
  h.writeUInt16LE(bitsPerSample, 34);
  h.write('data', 36, 'ascii');
  h.writeUInt32LE(dataBytes, 40);
  return h;
}

export interface WavInfo {
  sampleRate: number;
  channels: number;
  bitsPerSample: number;
  dataBytes: number;
  durationSec: number;
}

/** Read the format and length of a WAV held in memory; walks chunks so extra chunks (LIST) are skipped. */
export function parseWav(buf: Buffer): WavInfo {
  if (buf.length < 12 || buf.toString('ascii', 0, 4) !== 'RIFF' || buf.toString('ascii', 8, 12) !== 'WAVE') {
    throw new MeshError('UNSUPPORTED_MEDIA_TYPE', 'not a RIFF/WAVE file');
  }
  let off = 12;
  let fmt: { sampleRate: number; channels: number; bitsPerSample: number } | undefined;
  while (off + 8 <= buf.length) {
    const id = buf.toString('ascii', off, off + 4);
    const size = buf.readUInt32LE(off + 4);
    const body = off + 8;
    if (id === 'fmt ' && body + 16 <= buf.length) {
      if (buf.readUInt16LE(body) !== 1) throw new MeshError('UNSUPPORTED_MEDIA_TYPE', 'WAV is not linear PCM');
      fmt = { channels: buf.readUInt16LE(body + 2), sampleRate: buf.readUInt32LE(body + 4), bitsPerSample: buf.readUInt16LE(body + 14) };
    } else if (id === 'data') {
      if (fmt === undefined) throw new MeshError('UNSUPPORTED_MEDIA_TYPE', 'WAV data chunk before fmt chunk');
      const dataBytes = Math.min(size, buf.length - body);
      const bytesPerSecond = fmt.sampleRate * fmt.channels * (fmt.bitsPerSample / 8);
      return { ...fmt, dataBytes, durationSec: bytesPerSecond > 0 ? dataBytes / bytesPerSecond : 0 };
    }
    off = body + size + (size % 2); // chunks are word-aligned
  }
  throw new MeshError('UNSUPPORTED_MEDIA_TYPE', 'WAV has no data chunk');
}

/** Streams 16-bit mono PCM into a WAV file; finish() patches the header. */
export class WavFileWriter {
  private handle: FileHandle | undefined;
  private dataBytes = 0;
  private chain: Promise<void> = Promise.resolve();
  private failure: unknown;

  private constructor(readonly path: string, private readonly sampleRate: number) {}

  static async create(path: string, sampleRate = 8000): Promise<WavFileWriter> {
    const w = new WavFileWriter(path, sampleRate);
    w.handle = await open(path, 'w');
    await w.handle.write(wavHeader(0, sampleRate), 0, WAV_HEADER_BYTES, 0);
    return w;
  }

  get bytesWritten(): number {
    return this.dataBytes;
  }

  /** Queue PCM bytes for writing (writes are serialized; errors surface on finish()). */
  append(pcm: Buffer): void {
    const offset = WAV_HEADER_BYTES + this.dataBytes;
    this.dataBytes += pcm.length;
    this.chain = this.chain.then(async () => {
      if (this.failure !== undefined || this.handle === undefined) return;
      try {
        await this.handle.write(pcm, 0, pcm.length, offset);
      } catch (e) {
        this.failure = e;
      }
    });
  }

  /** Flush, write the final sizes, close. Idempotent. */
  async finish(): Promise<{ dataBytes: number }> {
    await this.chain;
    const h = this.handle;
    this.handle = undefined;
    if (h !== undefined) {
      try {
        if (this.failure === undefined) await h.write(wavHeader(this.dataBytes, this.sampleRate), 0, WAV_HEADER_BYTES, 0);
      } finally {
        await h.close();
      }
    }
    if (this.failure !== undefined) throw new MeshError('INTERNAL', `writing ${this.path} failed: ${(this.failure as Error).message}`, { cause: this.failure });
    return { dataBytes: this.dataBytes };
  }
}
