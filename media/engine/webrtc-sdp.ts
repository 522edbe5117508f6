/**
 * ng options for a call with a browser (WebRTC) on one side and plain RTP on
 * the other, as measured with Chromium and rtpengine 10.5 userspace (issue 13):
 *
 * - the SDP rtpengine returns *to a browser* must be WebRTC: ICE (`force`:
 *   rtpengine's own candidates, full ICE), DTLS-SRTP under
 *   `UDP/TLS/RTP/SAVPF`, RTCP multiplexed on the RTP port (RFC 8843 / 8829
 *   require rtcp-mux of browsers), `a=mid` present (BUNDLE needs it). The
 *   DTLS role is left to rtpengine (it answers a browser's `actpass` with
 *   `active`): forcing `DTLS: passive` left Chromium's dtlsState at
 *   `connecting` in the browser test;
 * - the SDP rtpengine returns *from a browser's* SDP, for the platform side
 *   or a SIP peer, is plain: `RTP/AVP`, no ICE, no DTLS, RTCP on its own port;
 * - a browser's offer without PCMU (some offer Opus only) gets PCMU added by
 *   transcoding (`codec: {transcode: [PCMU]}`), so the plain side can always
 *   answer G.711. Transcoding is asked for only then: with PCMU already in the
 *   offer rtpengine 10.5 refuses to add it again, and the call simply uses
 *   PCMU end to end (Chromium offers it).
 *
 * Which side is a browser is the caller's knowledge (a client over WebSocket),
 * never guessed from the SDP.
 */
import type { MediaSdpOptions } from './types.js';

/**
 * The browser's place in one offer or answer command: `sender` — the SDP
 * handed to rtpengine is the browser's, the SDP it returns goes to the plain
 * side; `receiver` — the SDP it returns goes to the browser.
 */
export type WebrtcSide = 'sender' | 'receiver';

/** Whether an SDP lists PCMU (static payload 0, or an rtpmap naming it) on its first audio line. */
export function offersPcmu(sdp: string): boolean {
  const m = /^m=audio \d+(?:\/\d+)? [^ ]+ ([^\r\n]*)$/m.exec(sdp);
  if (m === null) return false;
  const pts = m[1]!.trim().split(/\s+/);
  if (pts.includes('0')) return true;
  return pts.some((pt) => new RegExp(`^a=rtpmap:${pt} PCMU/8000`, 'mi').test(sdp));
}

/**
 * ng options for one command of a browser's call. `sdp` is the SDP handed to
 * rtpengine in that command (read only for `sender`: does it offer PCMU).
 * `isOffer`: an offer command (transcoding is set up on offers only).
 */
export function webrtcSdpOptions(side: WebrtcSide, sdp: string, isOffer: boolean): MediaSdpOptions {
  if (side === 'receiver') {
    return {
      ice: 'force',
      transportProtocol: 'UDP/TLS/RTP/SAVPF',
      // In an offer to a browser rtpengine offers and requires rtcp-mux; in an answer it accepts the browser's.
      rtcpMux: isOffer ? ['offer', 'require'] : ['accept'],
      flags: ['generate-mid'],
    };
  }
  return {
    ice: 'remove',
    dtls: 'off',
    transportProtocol: 'RTP/AVP',
    rtcpMux: ['demux'],
    ...(isOffer && !offersPcmu(sdp) ? { codec: { transcode: ['PCMU'] } } : {}),
  };
}
