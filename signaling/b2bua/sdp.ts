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
