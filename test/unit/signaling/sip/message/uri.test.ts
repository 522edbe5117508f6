import { describe, expect, it } from 'vitest';
import { SipParseError, formatUri, parseUri } from '../../../../../signaling/sip/message/index.js';

describe('parseUri (RFC 3261 §19.1)', () => {
  it('parses user, password, host, port, params and headers', () => {
    const u = parseUri('sip:alice:secretword@atlanta.com:5061;transport=TCP;lr?subject=project%20x&priority=urgent');
    expect(u).toMatchObject({ scheme: 'sip', user: 'alice', password: 'secretword', host: 'atlanta.com', port: 5061 });
    expect([...u.params]).toEqual([['transport', 'TCP'], ['lr', null]]);
    expect([...u.headers]).toEqual([['subject', 'project x'], ['priority', 'urgent']]);
  });

  it('parses sips, host-only and IPv6 references', () => {
    expect(parseUri('SIPS:example.com')).toMatchObject({ scheme: 'sips', user: undefined, host: 'example.com', port: undefined });
    const v6 = parseUri('sip:bob@[2001:db8::10]:5070;maddr=[2001:db8::1]');
    expect(v6.host).toBe('[2001:db8::10]');
    expect(v6.port).toBe(5070);
    expect(v6.params.get('maddr')).toBe('[2001:db8::1]');
  });

  it('decodes %-escapes in user, params and headers; keeps a stray % literally', () => {
    const u = parseUri('sip:%61lice%40home@h;n%61me=v%61lue?x=%3Csip:y%3E');
    expect(u.user).toBe('alice@home');
    expect(u.params.get('name')).toBe('value');
    expect(u.headers.get('x')).toBe('<sip:y>');
    expect(parseUri('sip:100%ZZ@h').user).toBe('100%ZZ');
  });

  it('parses tel URIs with the number in user', () => {
    const t = parseUri('tel:+1-201-555-0123;phone-context=example.com');
    expect(t).toMatchObject({ scheme: 'tel', user: '+1-201-555-0123', host: '' });
    expect(t.params.get('phone-context')).toBe('example.com');
  });

  it('rejects malformed URIs', () => {
    for (const bad of ['sip:', 'sip:user@', 'sip:a b@h', '<sip:a@h>', 'sip:a@h:99999', 'sip:a@h:x', 'sip:@h', 'nocolon']) {
      expect(() => parseUri(bad), bad).toThrow(SipParseError);
    }
  });

  it('rejects unknown schemes with status 416', () => {
    try {
      parseUri('http://example.com');
      throw new Error('not rejected');
    } catch (e) {
      expect(e).toBeInstanceOf(SipParseError);
      expect((e as SipParseError).status).toBe(416);
    }
  });
});

describe('formatUri', () => {
  it('round-trips and escapes what each part does not allow', () => {
    for (const s of [
      'sip:alice@atlanta.com',
      'sips:alice:pw@atlanta.com:5061;transport=tcp;lr',
      'sip:[2001:db8::1]:5060',
      'sip:bob@h?subject=hi&priority=urgent',
      'tel:+12015550123;phone-context=example.com',
    ]) {
      expect(formatUri(parseUri(s))).toBe(s);
    }
    const u = parseUri('sip:h');
    u.user = 'a b@c';
    u.params.set('x', 'a;b');
    u.headers.set('subject', 'a&b c');
    const s = formatUri(u);
    expect(s).toBe('sip:a%20b%40c@h;x=a%3Bb?subject=a%26b%20c');
    expect(parseUri(s).user).toBe('a b@c');
  });
});
