/**
 * CIDR arithmetic of the webhook destination policy: IPv4, IPv6, the
 * IPv4-mapped form normalised to IPv4, and what a configuration may not say.
 */
import { describe, expect, it } from 'vitest';
import { isMeshError } from '../../../../regions/core/errors.js';
import { cidrContains, parseCidr, parseIp } from '../../../../regions/net/cidr.js';

const inBlock = (block: string, address: string): boolean => cidrContains(parseCidr(block), parseIp(address)!);

describe('parseIp', () => {
  it('reads IPv4 and IPv6, with brackets and zone ids', () => {
    expect(parseIp('10.1.2.3')).toEqual({ family: 4, value: 0x0a010203n });
    expect(parseIp('::1')).toEqual({ family: 6, value: 1n });
    expect(parseIp('::')).toEqual({ family: 6, value: 0n });
    expect(parseIp('[2001:db8::1]')).toEqual({ family: 6, value: 0x20010db8000000000000000000000001n });
    expect(parseIp('fe80::1%eth0')).toEqual({ family: 6, value: 0xfe800000000000000000000000000001n });
    expect(parseIp('1:2:3:4:5:6:7:8')?.value).toBe(0x00010002000300040005000600070008n);
  });

  it('normalises IPv4-mapped IPv6 (dotted or hex) to the IPv4 address it reaches', () => {
    expect(parseIp('::ffff:127.0.0.1')).toEqual({ family: 4, value: 0x7f000001n });
    expect(parseIp('::ffff:7f00:1')).toEqual({ family: 4, value: 0x7f000001n });
    expect(parseIp('0:0:0:0:0:ffff:a9fe:a9fe')).toEqual({ family: 4, value: 0xa9fea9fen });
  });

  it('leaves the deprecated IPv4-compatible form (::a.b.c.d) as IPv6, so ::1 stays loopback', () => {
    expect(parseIp('::1.2.3.4')).toEqual({ family: 6, value: 0x01020304n });
  });

  it('refuses what is not an address', () => {
    for (const s of ['', 'localhost', '127.1', '256.0.0.1', '1.2.3.4.5', ':::1', '::ffff:1.2.3']) expect(parseIp(s)).toBeUndefined();
  });
});

describe('parseCidr / cidrContains', () => {
  it('matches IPv4 blocks at their edges', () => {
    expect(inBlock('10.0.0.0/8', '10.0.0.0')).toBe(true);
    expect(inBlock('10.0.0.0/8', '10.255.255.255')).toBe(true);
    expect(inBlock('10.0.0.0/8', '11.0.0.0')).toBe(false);
    expect(inBlock('10.0.0.0/8', '9.255.255.255')).toBe(false);
    expect(inBlock('172.16.0.0/12', '172.31.255.255')).toBe(true);
    expect(inBlock('172.16.0.0/12', '172.32.0.0')).toBe(false);
    expect(inBlock('100.64.0.0/10', '100.127.255.255')).toBe(true);
    expect(inBlock('100.64.0.0/10', '100.128.0.0')).toBe(false);
    expect(inBlock('0.0.0.0/0', '255.255.255.255')).toBe(true);
    expect(inBlock('127.0.0.1/32', '127.0.0.1')).toBe(true);
    expect(inBlock('127.0.0.1/32', '127.0.0.2')).toBe(false);
  });

  it('matches IPv6 blocks', () => {
    expect(inBlock('fe80::/10', 'fe80::1')).toBe(true);
    expect(inBlock('fe80::/10', 'febf:ffff::1')).toBe(true);
    expect(inBlock('fe80::/10', 'fec0::1')).toBe(false);
    expect(inBlock('fc00::/7', 'fd12:3456::1')).toBe(true);
    expect(inBlock('::1/128', '::1')).toBe(true);
    expect(inBlock('::/0', '2001:db8::1')).toBe(true);
  });

  it('never matches across families: ::/0 does not contain IPv4, 0.0.0.0/0 does not contain IPv6', () => {
    expect(inBlock('::/0', '10.0.0.1')).toBe(false);
    expect(inBlock('0.0.0.0/0', '::1')).toBe(false);
  });

  it('an IPv4 block covers the IPv4-mapped IPv6 spelling of its addresses, and a mapped block is an IPv4 block', () => {
    expect(inBlock('127.0.0.0/8', '::ffff:127.0.0.1')).toBe(true);
    expect(inBlock('169.254.0.0/16', '::ffff:a9fe:a9fe')).toBe(true);
    expect(parseCidr('::ffff:10.0.0.0/104')).toMatchObject({ family: 4, network: 0x0a000000n, prefix: 8 });
    expect(inBlock('::ffff:10.0.0.0/104', '10.9.9.9')).toBe(true);
  });

  it('a bare address is a single host', () => {
    expect(parseCidr('192.0.2.7')).toMatchObject({ family: 4, prefix: 32 });
    expect(parseCidr('2001:db8::7')).toMatchObject({ family: 6, prefix: 128 });
  });

  it('refuses host bits, bad prefixes, names and zone ids with a message saying why', () => {
    const why = (s: string): string => {
      try {
        parseCidr(s);
        return 'accepted';
      } catch (e) {
        expect(isMeshError(e, 'BAD_REQUEST')).toBe(true);
        return (e as Error).message;
      }
    };
    expect(why('10.0.0.1/8')).toMatch(/host bits/);
    expect(why('fe80::1/10')).toMatch(/host bits/);
    expect(why('10.0.0.0/33')).toMatch(/prefix length must be 0\.\.32/);
    expect(why('::/129')).toMatch(/prefix length must be 0\.\.128/);
    expect(why('10.0.0.0/')).toMatch(/prefix length/);
    expect(why('10.0.0.0/-1')).toMatch(/prefix length/);
    expect(why('localhost/8')).toMatch(/not an IPv4 or IPv6/);
    expect(why('fe80::%eth0/10')).toMatch(/not an IPv4 or IPv6/);
    expect(why('')).toMatch(/not an IPv4 or IPv6/);
  });
});
