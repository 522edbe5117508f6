/**
 * Length-prefixed framing for a region link: every frame is a 4-byte unsigned
 * big-endian length followed by that many bytes (one encoded Envelope). TCP is
 * a byte stream, so frames must be cut out of arbitrary chunk boundaries.
 *
 * The decoder never buffers more than one frame's worth: a length above
 * `maxFrameBytes` is refused as soon as its 4-byte header arrives.
 */
import { MeshError } from '../core/errors.js';

export const FRAME_HEADER_BYTES = 4;

export function encodeFrame(payload: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.length);
  frame.writeUInt32BE(payload.length, 0);
  frame.set(payload, FRAME_HEADER_BYTES);
  return frame;
}

export class FrameDecoder {
  private readonly maxFrameBytes: number;
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Length of the frame being assembled, once its header has been read. */
  private expected: number | undefined;

  constructor(maxFrameBytes: number) {
    this.maxFrameBytes = maxFrameBytes;
  }

  /** Bytes held waiting for the rest of a frame. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /**
   * Feed a chunk; returns the complete frames it finished (payloads only).
   * Throws MeshError('TOO_LARGE') on an oversize length: the stream cannot be
   * resynchronised after that, so the caller should close the connection.
   */
  push(chunk: Buffer): Buffer[] {
    const out: Buffer[] = [];
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    for (;;) {
      if (this.expected === undefined) {
        if (this.buffered < FRAME_HEADER_BYTES) break;
        const len = this.take(FRAME_HEADER_BYTES).readUInt32BE(0);
        if (len > this.maxFrameBytes) {
          this.reset();
          throw new MeshError('TOO_LARGE', `frame of ${len} bytes exceeds ${this.maxFrameBytes}`, {
            detail: { bytes: len, maxBytes: this.maxFrameBytes },
          });
        }
        this.expected = len;
      }
      if (this.buffered < this.expected) break;
      out.push(this.take(this.expected));
      this.expected = undefined;
    }
    return out;
  }

  reset(): void {
    this.chunks = [];
    this.buffered = 0;
    this.expected = undefined;
  }

  /** Remove exactly n buffered bytes from the front (n <= buffered). */
  private take(n: number): Buffer {
    const first = this.chunks[0];
    if (first !== undefined && first.length >= n) {
      // Common case: the bytes sit in one chunk, no copy.
      const out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      this.buffered -= n;
      return out;
    }
    const all = Buffer.concat(this.chunks, this.buffered);
    const out = Buffer.from(all.subarray(0, n));
    const rest = all.subarray(n);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.buffered -= n;
    return out;
  }
}
