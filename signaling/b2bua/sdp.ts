/** SDP helpers the B2BUA needs; rtpengine does the real rewriting. */
export const SDP_TYPE = 'application/sdp';

/** SDP text → body bytes. rtpengine returns CRLF-terminated SDP; keep it as is. */
export function sdpBody(sdp: string): Buffer {
  return Buffer.from(sdp, 'utf8');
}

/** Media direction of the first audio stream (`a=sendonly` etc.), default sendrecv (RFC 3264 §5.1). */
export function sdpDirection(sdp: string): 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive' {
  let dir: 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive' = 'sendrecv';
  for (const line of sdp.split(/\r?\n/)) {
    const m = /^a=(sendrecv|sendonly|recvonly|inactive)\s*$/.exec(line);
    if (m) dir = m[1] as typeof dir;
  }
  return dir;
}

/** Address and port of the first audio stream (media-level c= wins over session-level), or undefined. */
export function sdpAudioEndpoint(sdp: string): { address: string; port: number } | undefined {
  let sessionAddr: string | undefined;
  let mediaAddr: string | undefined;
  let port: number | undefined;
  let inAudio = false;
  for (const raw of sdp.split(/\r?\n/)) {
    const line = raw.trim();
    const c = /^c=IN IP[46] ([^\s/]+)/.exec(line);
    if (c) {
      if (port === undefined) sessionAddr = c[1];
      else if (inAudio) mediaAddr = c[1];
      continue;
    }
    const m = /^m=(\w+) (\d+)/.exec(line);
    if (m) {
      if (port !== undefined) break; // only the first audio stream
      inAudio = m[1] === 'audio';
      if (inAudio) port = Number(m[2]);
    }
  }
  const address = mediaAddr ?? sessionAddr;
  return address === undefined || port === undefined || port <= 0 || port > 65535 ? undefined : { address, port };
}
