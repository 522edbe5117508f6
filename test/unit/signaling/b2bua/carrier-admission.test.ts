import { describe, expect, it } from 'vitest';
import {
  CarrierAdmission,
  blockContains,
  describeInvalidSource,
  parseIpv4,
  parseIpv4Block,
  parseSourceAddress,
} from '../../../../signaling/b2bua/carrier-admission.js';
import type { CarrierRecord } from '../../../../regions/store/schema.js';

function carrier(sid: string, allowedSources: string[], prefixes: string[] = []): CarrierRecord {
  return { sid, region: 'us-east', name: sid, allowedSources, prefixes, dateCreated: 'x' };
}

describe('parseIpv4', () => {
  it('parses dotted quads to unsigned 32-bit numbers', () => {
    expect(parseIpv4('0.0.0.0')).toBe(0);
    expect(parseIpv4('255.255.255.255')).toBe(0xffffffff);
    expect(parseIpv4('192.0.2.1')).toBe(0xc0000201);
    expect(parseIpv4('127.0.1.1')).toBe(0x7f000101);
  });

  it.each([
    '',
    '1.2.3',
    '1.2.3.4.5',
    '256.1.1.1',
    '1.2.3.-1',
    '01.2.3.4',
    '1.2.3.4 ',
    ' 1.2.3.4',
    '1..3.4',
    'a.b.c.d',
    '1.2.3.4/32',
    '0x7f.0.0.1',
    '1e2.0.0.1',
    '::1',
  ])('refuses %j', (text) => {
    expect(parseIpv4(text)).toBeUndefined();
  });
});

describe('parseIpv4Block', () => {
  it('treats a bare address as /32', () => {
    expect(parseIpv4Block('10.1.2.3')).toEqual({ network: 0x0a010203, mask: 0xffffffff, bits: 32 });
  });

  it('accepts /0 as everything and /32 as one address', () => {
    const all = parseIpv4Block('0.0.0.0/0');
    expect(all).toEqual({ network: 0, mask: 0, bits: 0 });
    expect(blockContains(all!, parseIpv4('255.255.255.255')!)).toBe(true);
    expect(blockContains(all!, 0)).toBe(true);
    const one = parseIpv4Block('203.0.113.7/32')!;
    expect(blockContains(one, parseIpv4('203.0.113.7')!)).toBe(true);
    expect(blockContains(one, parseIpv4('203.0.113.8')!)).toBe(false);
    expect(blockContains(one, parseIpv4('203.0.113.6')!)).toBe(false);
  });

  it('matches the edges of a block and nothing outside', () => {
    const b = parseIpv4Block('192.168.4.0/22')!;
    expect(b.mask).toBe(0xfffffc00);
    expect(blockContains(b, parseIpv4('192.168.4.0')!)).toBe(true);
    expect(blockContains(b, parseIpv4('192.168.7.255')!)).toBe(true);
    expect(blockContains(b, parseIpv4('192.168.3.255')!)).toBe(false);
    expect(blockContains(b, parseIpv4('192.168.8.0')!)).toBe(false);
  });

  it('handles /1 and /31 (sign bit and odd sizes)', () => {
    const upper = parseIpv4Block('128.0.0.0/1')!;
    expect(blockContains(upper, parseIpv4('255.0.0.1')!)).toBe(true);
    expect(blockContains(upper, parseIpv4('127.255.255.255')!)).toBe(false);
    const pair = parseIpv4Block('10.0.0.2/31')!;
    expect(blockContains(pair, parseIpv4('10.0.0.3')!)).toBe(true);
    expect(blockContains(pair, parseIpv4('10.0.0.4')!)).toBe(false);
  });

  it.each(['10.0.0.0/33', '10.0.0.0/-1', '10.0.0.0/', '10.0.0.0/08', '10.0.0.0/a', '10.0.0.1/8', '10.0.0/8', '/8', '10.0.0.0/8/8'])(
    'refuses %j',
    (text) => {
      expect(parseIpv4Block(text)).toBeUndefined();
      expect(describeInvalidSource(text)).toBeTypeOf('string');
    },
  );

  it('explains why a source is invalid', () => {
    expect(describeInvalidSource('10.0.0.0/8')).toBeUndefined();
    expect(describeInvalidSource('10.0.0.1/8')).toMatch(/host bits/);
    expect(describeInvalidSource('10.0.0.0/40')).toMatch(/0\.\.32/);
    expect(describeInvalidSource('example.com')).toMatch(/IPv4/);
  });
});

describe('parseSourceAddress', () => {
  it('unwraps IPv4-mapped IPv6 and refuses other IPv6', () => {
    expect(parseSourceAddress('::ffff:127.0.0.1')).toBe(0x7f000001);
    expect(parseSourceAddress('::FFFF:10.0.0.1')).toBe(0x0a000001);
    expect(parseSourceAddress('::1')).toBeUndefined();
    expect(parseSourceAddress('2001:db8::1')).toBeUndefined();
  });
});

describe('CarrierAdmission', () => {
  it('admits everything with no carrier when the region has none (dev mode)', () => {
    const a = new CarrierAdmission([]);
    expect(a.admit('203.0.113.9', '+15551234567')).toEqual({ ok: true, carrier: undefined });
    expect(a.admit('garbage', 'x')).toEqual({ ok: true, carrier: undefined });
  });

  it('admits a listed source and names the carrier', () => {
    const c = carrier('CR1', ['127.0.0.1', '10.0.0.0/8']);
    const a = new CarrierAdmission([c]);
    expect(a.admit('127.0.0.1', '+15551234567')).toEqual({ ok: true, carrier: c });
    expect(a.admit('10.200.3.4', '442071234567')).toEqual({ ok: true, carrier: c });
    expect(a.admit('::ffff:10.0.0.9', '1')).toEqual({ ok: true, carrier: c });
  });

  it('refuses an unlisted or malformed source with a reason', () => {
    const a = new CarrierAdmission([carrier('CR1', ['127.0.0.1'])]);
    const r = a.admit('127.0.0.2', '+15551234567');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(/127\.0\.0\.2.*not an allowed/);
    const bad = a.admit('not-an-ip', '+1');
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.reason).toMatch(/not an IPv4/);
  });

  it('restricts dialed numbers to the carrier prefixes, with or without +', () => {
    const c = carrier('CR1', ['127.0.0.1'], ['+1555', '44']);
    const a = new CarrierAdmission([c]);
    expect(a.admit('127.0.0.1', '+15551230000').ok).toBe(true);
    expect(a.admit('127.0.0.1', '15551230000').ok).toBe(true);
    expect(a.admit('127.0.0.1', '+442071234567').ok).toBe(true);
    const r = a.admit('127.0.0.1', '+15561230000');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(/prefixes/);
  });

  it('prefers the most specific source block, then the longest prefix', () => {
    const wide = carrier('WIDE', ['10.0.0.0/8']);
    const narrow = carrier('NARROW', ['10.1.0.0/16'], ['+1']);
    const narrowLong = carrier('NARROW_LONG', ['10.1.0.0/16'], ['+1555']);
    const a = new CarrierAdmission([wide, narrow, narrowLong]);
    expect(a.admit('10.1.2.3', '+15550000000')).toEqual({ ok: true, carrier: narrowLong });
    expect(a.admit('10.1.2.3', '+16660000000')).toEqual({ ok: true, carrier: narrow });
    // Narrow carriers do not terminate +44, the wide one (no prefixes) does.
    expect(a.admit('10.1.2.3', '+440000000')).toEqual({ ok: true, carrier: wide });
    expect(a.admit('10.9.9.9', '+15550000000')).toEqual({ ok: true, carrier: wide });
  });

  it('ignores malformed stored entries instead of widening', () => {
    const a = new CarrierAdmission([carrier('CR1', ['10.0.0.1/8', 'bogus', '0.0.0.0/33'])]);
    expect(a.size).toBe(1);
    expect(a.admit('10.0.0.1', '1').ok).toBe(false);
    expect(a.admit('10.9.9.9', '1').ok).toBe(false);
  });

  it('admits every IPv4 source with 0.0.0.0/0', () => {
    const c = carrier('ANY', ['0.0.0.0/0']);
    const a = new CarrierAdmission([c]);
    expect(a.admit('255.255.255.255', '1')).toEqual({ ok: true, carrier: c });
    expect(a.admit('0.0.0.0', '1')).toEqual({ ok: true, carrier: c });
  });
});
