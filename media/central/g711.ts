/**
 * G.711 decoders (ITU-T G.711 §2, tables 1a/1b and 2a/2b): one byte → one
 * 16-bit linear PCM sample. The tables are computed once at load; decoding a
 * 20 ms packet is 160 table look-ups.
 *
 * µ-law (PCMU, RTP payload type 0, RFC 3551 §4.5.14): the byte is sent
 * inverted; sign bit 7, exponent bits 6..4, mantissa bits 3..0, bias 0x84.
 * A-law (PCMA, payload type 8): even bits inverted (XOR 0x55); sign bit 7
 * (1 = positive), exponent 6..4, mantissa 3..0.
 */

export type G711Codec = 'PCMU' | 'PCMA';

/** RTP static payload types (RFC 3551 §6, table 4). */
export const G711_PAYLOAD_TYPE: Readonly<Record<G711Codec, number>> = { PCMU: 0, PCMA: 8 };

function ulawToLinear(byte: number): number {
  const u = ~byte & 0xff;
  const sign = u & 0x80;
  const exponent = (u >> 4) & 0x07;
  const mantissa = u & 0x0f;
  const magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84;
  return sign !== 0 ? -magnitude : magnitude;
}

function alawToLinear(byte: number): number {
  const a = byte ^ 0x55;
  const exponent = (a >> 4) & 0x07;
  const mantissa = a & 0x0f;
  let magnitude = exponent === 0 ? (mantissa << 4) + 8 : ((mantissa << 4) + 0x108) << (exponent - 1);
  if ((a & 0x80) === 0) magnitude = -magnitude;
  return magnitude;
}

const ULAW_TABLE = Int16Array.from({ length: 256 }, (_, b) => ulawToLinear(b));
const ALAW_TABLE = Int16Array.from({ length: 256 }, (_, b) => alawToLinear(b));

/** The decoded sample of one byte (exported for tests and encoders' round-trips). */
export function decodeSample(codec: G711Codec, byte: number): number {
  return (codec === 'PCMU' ? ULAW_TABLE : ALAW_TABLE)[byte & 0xff] ?? 0;
}

/** Decode a G.711 payload into little-endian 16-bit PCM (WAV byte order), 2 bytes per input byte. */
export function decodeG711(codec: G711Codec, payload: Uint8Array): Buffer {
  const table = codec === 'PCMU' ? ULAW_TABLE : ALAW_TABLE;
  const out = Buffer.allocUnsafe(payload.length * 2);
  for (let i = 0; i < payload.length; i++) out.writeInt16LE(table[payload[i] ?? 0] ?? 0, i * 2);
  return out;
}

/** The byte each codec uses for silence (decodes to 0 or the smallest magnitude). */
export const G711_SILENCE: Readonly<Record<G711Codec, number>> = { PCMU: 0xff, PCMA: 0xd5 };
