import { describe, expect, it } from 'vitest';
import { sdpSessionVersion, withSessionVersionAbove } from '../../../../signaling/b2bua/sdp-version.js';

const sdp = (version: string): string =>
  ['v=0', `o=callee 53655765 ${version} IN IP4 127.0.0.1`, 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', 'm=audio 4000 RTP/AVP 8', ''].join('\r\n');

describe('withSessionVersionAbove (RFC 3264 §8)', () => {
  it('raises a version that did not grow to one above the previous', () => {
    const out = withSessionVersionAbove(sdp('2353687637'), sdp('2353687637'));
    expect(sdpSessionVersion(out)).toBe(2353687638n);
    expect(out).toContain('o=callee 53655765 2353687638 IN IP4 127.0.0.1\r\n');
    expect(out).toContain('m=audio 4000 RTP/AVP 8');
  });

  it('raises a version below the previous one too', () => {
    expect(sdpSessionVersion(withSessionVersionAbove(sdp('5'), sdp('90')))).toBe(91n);
  });

  it('keeps a version that already grew, and SDP without a previous or without o=', () => {
    expect(withSessionVersionAbove(sdp('7'), sdp('6'))).toBe(sdp('7'));
    expect(withSessionVersionAbove(sdp('1'), undefined)).toBe(sdp('1'));
    expect(withSessionVersionAbove('v=0\r\n', sdp('3'))).toBe('v=0\r\n');
  });

  it('handles 64-bit versions without losing precision', () => {
    expect(sdpSessionVersion(withSessionVersionAbove(sdp('18446744073709551614'), sdp('18446744073709551614')))).toBe(18446744073709551615n);
  });
});
