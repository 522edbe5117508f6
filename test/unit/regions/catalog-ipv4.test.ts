import { describe, expect, it } from 'vitest';
import { intToIpv4, ipv4ToInt, parseIpv4Subnet, subnetContains, subnetsOverlap } from '../../../regions/catalog/ipv4.js';

describe('IPv4 helpers of the catalog', () => {
  it('round-trips addresses, including the top bit', () => {
    expect(ipv4ToInt('127.0.1.1')).toBe(0x7f000101);
    expect(ipv4ToInt('255.255.255.255')).toBe(0xffffffff);
    expect(intToIpv4(0xc0a80001)).toBe('192.168.0.1');
    expect(ipv4ToInt('256.0.0.1')).toBeUndefined();
    expect(ipv4ToInt('::1')).toBeUndefined();
  });

  it('parses CIDR blocks at the edges and refuses host bits', () => {
    expect(parseIpv4Subnet('0.0.0.0/0')).toMatchObject({ prefix: 0, mask: 0 });
    expect(parseIpv4Subnet('10.1.2.3/32')).toMatchObject({ prefix: 32, mask: 0xffffffff, text: '10.1.2.3/32' });
    expect(parseIpv4Subnet('10.1.2.3/31')).toBeUndefined();
    expect(parseIpv4Subnet('10.1.2.0')).toBeUndefined();
    expect(parseIpv4Subnet('10.1.2.0/24/1')).toBeUndefined();
  });

  it('tests membership and overlap', () => {
    const a = parseIpv4Subnet('127.0.1.0/24')!;
    const wide = parseIpv4Subnet('127.0.0.0/16')!;
    const b = parseIpv4Subnet('127.0.2.0/24')!;
    expect(subnetContains(a, ipv4ToInt('127.0.1.255')!)).toBe(true);
    expect(subnetContains(a, ipv4ToInt('127.0.2.0')!)).toBe(false);
    expect(subnetsOverlap(a, b)).toBe(false);
    expect(subnetsOverlap(a, wide)).toBe(true);
    expect(subnetsOverlap(wide, b)).toBe(true);
    expect(subnetsOverlap(parseIpv4Subnet('0.0.0.0/0')!, a)).toBe(true);
  });
});
