import dgram from 'node:dgram';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Shared bits of the media integration suites: a directory for logs, SDP and RTP builders, UDP endpoints. */

export const LOG_DIR = mkdtempSync(join(tmpdir(), 'mesh-media-it-'));

/** A minimal PCMU audio SDP (RFC 4566 §5) offering `ip:port`. */
export function audioSdp(ip: string, port: number, sessionId = 1): string {
  return [
    'v=0',
    `o=- ${sessionId} 1 IN IP4 ${ip}`,
    's=-',
    `c=IN IP4 ${ip}`,
    't=0 0',
    `m=audio ${port} RTP/AVP 0`,
    'a=rtpmap:0 PCMU/8000',
    'a=ptime:20',
    'a=sendrecv',
    '',
  ].join('\r\n');
}

/** Connection address and audio port an SDP tells the peer to send to. */
export function sdpMediaTarget(sdp: string): { address: string; port: number } {
  const c = /^c=IN IP4 (\S+)/m.exec(sdp);
  const m = /^m=audio (\d+) /m.exec(sdp);
  if (c?.[1] === undefined || m?.[1] === undefined) throw new Error(`SDP without c= or m=audio:\n${sdp}`);
  return { address: c[1], port: Number(m[1]) };
}

/** A 20 ms PCMU RTP packet (RFC 3550 §5.1): 12-byte header + 160 bytes payload. */
export function rtpPacket(seq: number, ssrc: number): Buffer {
  const p = Buffer.alloc(172, 0xff);
  p[0] = 0x80; // V=2
  p[1] = 0; // PT 0 = PCMU
  p.writeUInt16BE(seq & 0xffff, 2);
  p.writeUInt32BE((seq * 160) >>> 0, 4);
  p.writeUInt32BE(ssrc >>> 0, 8);
  return p;
}

export interface RtpPeer {
  socket: dgram.Socket;
  address: string;
  port: number;
  received: Buffer[];
  close(): Promise<void>;
}

/** A UDP endpoint standing in for a phone's RTP socket. */
export async function rtpPeer(address: string): Promise<RtpPeer> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, address, () => resolve());
  });
  const received: Buffer[] = [];
  socket.on('message', (m) => received.push(m));
  return {
    socket,
    address,
    port: socket.address().port,
    received,
    close: () => new Promise((r) => socket.close(() => r())),
  };
}

export async function sendRtp(from: RtpPeer, to: { address: string; port: number }, count: number, ssrc: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    await new Promise<void>((resolve, reject) => from.socket.send(rtpPacket(i, ssrc), to.port, to.address, (e) => (e ? reject(e) : resolve())));
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Poll `cond` until true or `timeoutMs` passes. */
export async function waitFor(cond: () => boolean, timeoutMs: number, stepMs = 20): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  return cond();
}
