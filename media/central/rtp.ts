/**
 * Parse the fixed RTP header (RFC 3550 §5.1) and find the payload: skips
 * CSRCs, a header extension (§5.3.1) and padding (P bit: the last octet
 * counts the padding octets).
 */

export interface RtpHeader {
  payloadType: number;
  marker: boolean;
  seq: number;
  timestamp: number;
  ssrc: number;
  payload: Buffer;
}

export function parseRtp(buf: Buffer): RtpHeader | undefined {
  if (buf.length < 12) return undefined;
  const b0 = buf[0] ?? 0;
  const b1 = buf[1] ?? 0;
  if (b0 >> 6 !== 2) return undefined;
  // RTCP shares the port when rtcp-mux is on (RFC 5761 §4): payload types 72..76 with the marker are RTCP.
  if (b1 >= 200 && b1 <= 204) return undefined;
  let off = 12 + 4 * (b0 & 0x0f);
  if ((b0 & 0x10) !== 0) {
    if (buf.length < off + 4) return undefined;
    off += 4 + 4 * buf.readUInt16BE(off + 2);
  }
  let end = buf.length;
  if ((b0 & 0x20) !== 0) end -= buf[buf.length - 1] ?? 0;
  if (end < off) return undefined;
  return {
    payloadType: b1 & 0x7f,
    marker: (b1 & 0x80) !== 0,
    seq: buf.readUInt16BE(2),
    timestamp: buf.readUInt32BE(4),
    ssrc: buf.readUInt32BE(8),
    payload: buf.subarray(off, end),
  };
}
