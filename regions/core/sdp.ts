/**
 * The few SDP facts the platform reads itself (rtpengine does the real
 * rewriting): where the first audio stream goes, and its direction. Shared by
 * the signaling side (B2BUA, platform legs) and the media side (media/leg).
 */
import { isIP } from 'node:net';

export type SdpDirection = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';

/** Media direction of the first audio stream (`a=sendonly` etc.), default sendrecv (RFC 3264 §5.1). */
export function sdpDirection(sdp: string): SdpDirection {
  let dir: SdpDirection = 'sendrecv';
  for (const line of sdp.split(/\r?\n/)) {
    const m = /^a=(sendrecv|sendonly|recvonly|inactive)\s*$/.exec(line);
    if (m) dir = m[1] as SdpDirection;
  }
  return dir;
}

/** The direction an answer takes to an offer's direction (RFC 3264 §6.1): hold (sendonly) is answered recvonly. */
export function answerDirection(offer: string): SdpDirection {
  const dir = sdpDirection(offer);
  return dir === 'sendonly' ? 'recvonly' : dir === 'recvonly' ? 'sendonly' : dir;
}

/** Address and port of the first audio stream (media-level c= wins over session-level), or undefined. */
export function sdpAudioEndpoint(sdp: string): { address: string; port: number } | undefined {
  let sessionAddress: string | undefined;
  let mediaAddress: string | undefined;
  let port: number | undefined;
  let inAudio = false;
  for (const raw of sdp.split(/\r?\n/)) {
    const line = raw.trim();
    const c = /^c=IN IP[46] ([^\s/]+)/.exec(line);
    if (c?.[1] !== undefined) {
      if (port === undefined && !inAudio) sessionAddress = c[1];
      else if (inAudio) mediaAddress = c[1];
      continue;
    }
    const m = /^m=(\w+) (\d+)/.exec(line);
    if (m?.[1] !== undefined && m[2] !== undefined) {
      if (port !== undefined) break; // only the first audio stream counts
      inAudio = m[1] === 'audio';
      if (inAudio) port = Number(m[2]);
    }
  }
  const address = mediaAddress ?? sessionAddress;
  if (address === undefined || port === undefined || port < 1 || port > 65535 || isIP(address) === 0) return undefined;
  return { address, port };
}

/**
 * Whether an SDP's first audio stream is a WebRTC one: DTLS-SRTP
 * (`UDP/TLS/RTP/SAVP(F)`, RFC 5764 §8) or AVPF with SRTP (`RTP/SAVPF`), what
 * browsers offer (RFC 8827 forbids plain RTP). The answer to such an offer must
 * keep its transport (RFC 3264 §6); a client offering `RTP/AVP` gets plain RTP.
 */
export function sdpIsWebrtc(sdp: string): boolean {
  return /^m=audio \d+(?:\/\d+)? (?:UDP\/TLS\/RTP\/SAVPF?|RTP\/SAVPF)(?: |\r?$)/m.test(sdp);
}
