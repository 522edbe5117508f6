import { describe, expect, it } from 'vitest';
import { parseSip, sdpAudioTarget } from '../../../../benchmarks/drill/media-probe.js';

describe('drill media probe parsing', () => {
  it('finds the audio destination, media-level c= over session-level', () => {
    const sdp = ['v=0', 'o=- 1 1 IN IP4 127.0.1.1', 's=-', 'c=IN IP4 127.0.1.11', 't=0 0', 'm=audio 30010 RTP/AVP 0', 'c=IN IP4 127.0.1.12', 'm=video 30020 RTP/AVP 96', 'c=IN IP4 10.0.0.1', ''].join('\r\n');
    expect(sdpAudioTarget(sdp)).toEqual({ address: '127.0.1.12', port: 30010 });
    expect(sdpAudioTarget('v=0\r\nc=IN IP4 127.0.1.11\r\nm=audio 30012 RTP/AVP 8\r\n')).toEqual({ address: '127.0.1.11', port: 30012 });
    expect(sdpAudioTarget('v=0\r\nm=audio 0 RTP/AVP 8\r\nc=IN IP4 127.0.1.11\r\n')).toBeUndefined();
    expect(sdpAudioTarget('')).toBeUndefined();
  });

  it('parses requests and responses with compact headers', () => {
    const req = parseSip('INVITE sip:probe@127.0.0.1:5082 SIP/2.0\r\nv: SIP/2.0/UDP 127.0.1.1:5060;branch=z9hG4bK1\r\ni: abc\r\nCSeq: 2 INVITE\r\n\r\nv=0\r\n');
    expect(req?.method).toBe('INVITE');
    expect(req?.headers.get('via')).toEqual(['SIP/2.0/UDP 127.0.1.1:5060;branch=z9hG4bK1']);
    expect(req?.headers.get('call-id')).toEqual(['abc']);
    expect(req?.body).toBe('v=0\r\n');
    expect(parseSip('SIP/2.0 503 Service Unavailable\r\nCall-ID: x\r\n\r\n')?.status).toBe(503);
    expect(parseSip('garbage\r\n\r\n')).toBeUndefined();
    expect(parseSip('SIP/2.0 200 OK\r\nCall-ID: x\r\n')).toBeUndefined();
  });
});
