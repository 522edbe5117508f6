import { describe, expect, it } from 'vitest';
import { platformSdp, sdpAudioTarget } from '../../../media/leg/platform-sdp.js';

describe('platformSdp', () => {
  it('offers G.711 µ/A-law and telephone-event at the discard address by default', () => {
    const sdp = platformSdp();
    expect(sdp).toContain('c=IN IP4 127.0.0.1\r\n');
    expect(sdp).toContain('m=audio 9 RTP/AVP 0 8 101\r\n');
    expect(sdp).toContain('a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\n');
    expect(sdp.endsWith('\r\n')).toBe(true);
  });

  it('points at a bridge peer and carries the session version', () => {
    const sdp = platformSdp({ address: '127.0.18.1', port: 40032 }, { sessionId: 7, sessionVersion: 3 });
    expect(sdp).toContain('o=- 7 3 IN IP4 127.0.18.1\r\n');
    expect(sdpAudioTarget(sdp)).toEqual({ address: '127.0.18.1', port: 40032 });
    expect(platformSdp({ address: '::1', port: 5000 })).toContain('c=IN IP6 ::1');
  });

  it('refuses endpoints that are not an address and a port', () => {
    expect(() => platformSdp({ address: 'example.com', port: 5000 })).toThrow(/not an IP address/);
    expect(() => platformSdp({ address: '127.0.0.1', port: 70000 })).toThrow(/out of range/);
  });
});

describe('sdpAudioTarget', () => {
  it('prefers the audio stream c= over the session one and ignores later streams', () => {
    const sdp = 'v=0\r\nc=IN IP4 10.0.0.1\r\nm=audio 4000 RTP/AVP 0\r\nc=IN IP4 10.0.0.2\r\nm=audio 5000 RTP/AVP 0\r\n';
    expect(sdpAudioTarget(sdp)).toEqual({ address: '10.0.0.2', port: 4000 });
    expect(sdpAudioTarget('v=0\r\nc=IN IP4 10.0.0.1\r\nm=video 4000 RTP/AVP 96\r\n')).toBeUndefined();
    expect(sdpAudioTarget('v=0\r\nm=audio 4000 RTP/AVP 0\r\n')).toBeUndefined();
  });
});
