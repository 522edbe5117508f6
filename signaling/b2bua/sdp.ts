/** SDP helpers the B2BUA needs; rtpengine does the real rewriting. */
export const SDP_TYPE = 'application/sdp';

/** SDP text → body bytes. rtpengine returns CRLF-terminated SDP; keep it as is. */
export function sdpBody(sdp: string): Buffer {
  return Buffer.from(sdp, 'utf8');
}

export { sdpAudioEndpoint, sdpDirection } from '../../regions/core/sdp.js';
