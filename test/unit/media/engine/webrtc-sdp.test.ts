import { describe, expect, it } from 'vitest';
import { offersPcmu, webrtcSdpOptions } from '../../../../media/engine/webrtc-sdp.js';
import { sdpIsWebrtc } from '../../../../regions/core/sdp.js';

const chromeLike = ['v=0', 'o=- 1 2 IN IP4 127.0.0.1', 's=-', 't=0 0', 'm=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126', 'a=rtpmap:111 opus/48000/2', 'a=rtpmap:0 PCMU/8000', ''].join('\r\n');
const opusOnly = ['v=0', 's=-', 'm=audio 9 UDP/TLS/RTP/SAVPF 111', 'a=rtpmap:111 opus/48000/2', ''].join('\r\n');
const dynamicPcmu = ['v=0', 's=-', 'm=audio 9 UDP/TLS/RTP/SAVPF 111 96', 'a=rtpmap:111 opus/48000/2', 'a=rtpmap:96 PCMU/8000', ''].join('\r\n');
const plain = ['v=0', 's=-', 'c=IN IP4 127.0.0.1', 'm=audio 4000 RTP/AVP 0 101', ''].join('\r\n');

describe('webrtc ng options', () => {
  it('tells whether an offer lists PCMU (static 0 or a dynamic rtpmap)', () => {
    expect(offersPcmu(chromeLike)).toBe(true);
    expect(offersPcmu(opusOnly)).toBe(false);
    expect(offersPcmu(dynamicPcmu)).toBe(true);
    expect(offersPcmu('v=0\r\n')).toBe(false);
  });

  it('gives the browser WebRTC and the platform side plain RTP, transcoding only when PCMU is missing', () => {
    expect(webrtcSdpOptions('receiver', '', false)).toMatchObject({ ice: 'force', transportProtocol: 'UDP/TLS/RTP/SAVPF', rtcpMux: ['accept'] });
    expect(webrtcSdpOptions('receiver', '', true).rtcpMux).toEqual(['offer', 'require']);
    const toPlatform = webrtcSdpOptions('sender', chromeLike, true);
    expect(toPlatform).toMatchObject({ ice: 'remove', dtls: 'off', transportProtocol: 'RTP/AVP', rtcpMux: ['demux'] });
    expect(toPlatform.codec).toBeUndefined();
    expect(webrtcSdpOptions('sender', opusOnly, true).codec).toEqual({ transcode: ['PCMU'] });
    // Answers set nothing up: transcoding belongs to the offer.
    expect(webrtcSdpOptions('sender', opusOnly, false).codec).toBeUndefined();
  });

  it('recognises a WebRTC offer by its transport', () => {
    expect(sdpIsWebrtc(chromeLike)).toBe(true);
    expect(sdpIsWebrtc(plain)).toBe(false);
    expect(sdpIsWebrtc('m=audio 9 RTP/SAVPF 0\r\n')).toBe(true);
    expect(sdpIsWebrtc('m=audio 9 RTP/SAVP 0\r\n')).toBe(false);
  });
});
