import { describe, expect, it } from 'vitest';
import {
  SipParseError,
  formatNameAddr,
  formatVia,
  getTag,
  parseCSeq,
  parseContentLength,
  parseNameAddr,
  parseVia,
} from '../../../../../signaling/sip/message/index.js';

describe('parseNameAddr (RFC 3261 §20.10)', () => {
  it('parses quoted display names with escapes', () => {
    const n = parseNameAddr('"Bob \\"the\\" Builder" <sip:bob@h;transport=tcp>;tag=abc;expires=60');
    expect(n.displayName).toBe('Bob "the" Builder');
    expect(n.uri).toBe('sip:bob@h;transport=tcp');
    expect([...n.params]).toEqual([['tag', 'abc'], ['expires', '60']]);
  });

  it('parses token display names, with or without a space before <', () => {
    expect(parseNameAddr('Alice Smith <sip:a@h>').displayName).toBe('Alice Smith');
    expect(parseNameAddr('caller<sip:c@h>;tag=1').displayName).toBe('caller');
    expect(parseNameAddr('<sip:c@h>').displayName).toBeUndefined();
  });

  it('gives parameters after a bare addr-spec to the header, not the URI', () => {
    const n = parseNameAddr('sip:alice@atlanta.com;tag=88sja8x ; flag');
    expect(n.uri).toBe('sip:alice@atlanta.com');
    expect(n.params.get('tag')).toBe('88sja8x');
    expect(n.params.get('flag')).toBeNull();
  });

  it('rejects what RFC 4475 calls malformed', () => {
    for (const bad of [
      '"Mr. J. User <sip:j.user@example.com>', // unterminated quote
      'Bell, Alexander <sip:a@h>', // non-token display name
      '< sip:t.watson@example.org >', // spaces inside <>
      'sip:user@example.com?Route=%3Csip:x%3E', // addr-spec with headers
      '<sip:a@h>;;tag=1', // empty parameter
      '<sip:a@h', // no >
    ]) {
      expect(() => parseNameAddr(bad), bad).toThrow(SipParseError);
    }
  });

  it('formats back to the <uri> form and re-parses equal', () => {
    const n = parseNameAddr('Alice <sip:a@h>;tag=1');
    expect(formatNameAddr(n)).toBe('"Alice" <sip:a@h>;tag=1');
    expect(parseNameAddr(formatNameAddr(n))).toEqual(n);
    const q = parseNameAddr('"a\\\\b\\"c" <sip:x@y>');
    expect(parseNameAddr(formatNameAddr(q))).toEqual(q);
  });
});

describe('getTag', () => {
  it('finds the header tag, not a tag inside the URI', () => {
    expect(getTag('<sip:a@h;tag=inuri>;tag=real')).toBe('real');
    expect(getTag('<sip:a@h;tag=inuri>')).toBeUndefined();
    expect(getTag('sip:a@h;tag=x')).toBe('x');
    expect(getTag('"x;tag=no" <sip:a@h>')).toBeUndefined();
    expect(getTag('garbage "')).toBeUndefined();
  });
});

describe('parseVia (RFC 3261 §20.42)', () => {
  it('parses protocol, transport, sent-by and params', () => {
    const v = parseVia('SIP/2.0/UDP pc33.atlanta.com:5066;branch=z9hG4bK776asdhds;rport;received=192.0.2.1');
    expect(v).toMatchObject({ protocol: 'SIP/2.0', transport: 'UDP', host: 'pc33.atlanta.com', port: 5066 });
    expect([...v.params]).toEqual([['branch', 'z9hG4bK776asdhds'], ['rport', null], ['received', '192.0.2.1']]);
    expect(formatVia(v)).toBe('SIP/2.0/UDP pc33.atlanta.com:5066;branch=z9hG4bK776asdhds;rport;received=192.0.2.1');
  });

  it('allows LWS around / : ; = and upper-cases the transport', () => {
    const v = parseVia('SIP  /   2.0 / tcp   [2001:db8::1] : 5060 ;  branch =  z9hG4bK1');
    expect(v).toMatchObject({ protocol: 'SIP/2.0', transport: 'TCP', host: '[2001:db8::1]', port: 5060 });
    expect(v.params.get('branch')).toBe('z9hG4bK1');
  });

  it('rejects malformed values', () => {
    for (const bad of ['SIP/2.0/UDP', 'SIP/2.0 host', 'SIP/2.0/UDP h;;', 'SIP/2.0/UDP h:70000', 'SIP/2.0/UDPh', 'SIP/2.0/UDP h;branch=']) {
      expect(() => parseVia(bad), bad).toThrow(SipParseError);
    }
  });
});

describe('parseCSeq / parseContentLength', () => {
  it('parses sequence and method with any LWS between them', () => {
    expect(parseCSeq('0009 \t INVITE')).toEqual({ seq: 9, method: 'INVITE' });
    expect(parseCSeq(String(2 ** 31 - 1) + ' ACK').seq).toBe(2 ** 31 - 1);
  });

  it('rejects CSeq of 2**31 or more and malformed values', () => {
    for (const bad of [String(2 ** 31) + ' INVITE', '36893488147419103232 REGISTER', 'INVITE', '1', '1 IN VITE', '-1 INVITE']) {
      expect(() => parseCSeq(bad), bad).toThrow(SipParseError);
    }
  });

  it('parses Content-Length and rejects bad values', () => {
    expect(parseContentLength(' 0150 ')).toBe(150);
    for (const bad of ['-999', '', '1.5', '12a', '99999999999999999999']) {
      expect(() => parseContentLength(bad), bad).toThrow(SipParseError);
    }
  });
});
