/**
 * The webhook destination policy: profiles, allow and deny lists (deny
 * wins), the production profile's ranges in both IPv4 and IPv6 (and the
 * IPv4-mapped form), and the platform's own addresses.
 */
import { describe, expect, it } from 'vitest';
import {
  createDestinationPolicy,
  destinationRefused,
  isDestinationAllowed,
  isDestinationRefused,
  OPEN_DESTINATION_POLICY,
} from '../../../../regions/net/destination-policy.js';
import { MeshError } from '../../../../regions/core/errors.js';

const production = createDestinationPolicy({ profile: 'production', ownAddresses: ['203.0.113.10', '2001:db8::53', 'not-an-ip'] });

describe('development profile (the embedded default)', () => {
  it('allows everything, loopback and private included, when nothing is configured', () => {
    for (const a of ['127.0.0.1', '127.0.1.1', '::1', '10.0.0.1', '192.168.1.1', '169.254.169.254', '8.8.8.8', '2001:db8::1']) {
      expect(isDestinationAllowed(OPEN_DESTINATION_POLICY, a)).toBe(true);
      expect(isDestinationAllowed(createDestinationPolicy({ profile: 'development' }), a)).toBe(true);
    }
  });

  it('refuses what deny lists, and what allow does not list; deny wins over allow', () => {
    const p = createDestinationPolicy({ allow: ['127.0.0.0/8'], deny: ['127.0.0.2/32'] });
    expect(isDestinationAllowed(p, '127.0.0.1')).toBe(true);
    expect(isDestinationAllowed(p, '127.0.0.2')).toBe(false);
    expect(isDestinationAllowed(p, '::ffff:127.0.0.2')).toBe(false);
    expect(isDestinationAllowed(p, '127.0.0.3')).toBe(true);
    expect(isDestinationAllowed(p, '8.8.8.8')).toBe(false);
    expect(isDestinationAllowed(p, '::1')).toBe(false);
  });

  it('does not refuse the platform\'s own addresses (the examples run on them)', () => {
    expect(isDestinationAllowed(createDestinationPolicy({ ownAddresses: ['127.0.1.1'] }), '127.0.1.1')).toBe(true);
  });
});

describe('production profile', () => {
  it('refuses loopback, link-local, private, CGNAT, unspecified, multicast, broadcast', () => {
    for (const a of [
      '127.0.0.1', '127.255.255.254', '0.0.0.0', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.0.1', '100.64.0.1', '100.127.255.255',
      '169.254.169.254', '224.0.0.1', '239.255.255.250', '255.255.255.255', '240.0.0.1',
      '::', '::1', 'fe80::1', 'fc00::1', 'fd00:ec2::254', 'ff02::1',
    ]) expect([a, isDestinationAllowed(production, a)]).toEqual([a, false]);
  });

  it('refuses the IPv4-mapped IPv6 forms of those', () => {
    for (const a of ['::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:169.254.169.254', '::ffff:10.0.0.1', '::ffff:0.0.0.0', '::ffff:192.168.1.1']) {
      expect([a, isDestinationAllowed(production, a)]).toEqual([a, false]);
    }
  });

  it('refuses the platform\'s own addresses, and ignores own "addresses" that are not IPs', () => {
    expect(isDestinationAllowed(production, '203.0.113.10')).toBe(false);
    expect(isDestinationAllowed(production, '2001:db8::53')).toBe(false);
    expect(isDestinationAllowed(production, '203.0.113.11')).toBe(true);
  });

  it('allows public addresses, just outside each private range', () => {
    for (const a of ['8.8.8.8', '1.1.1.1', '11.0.0.1', '172.32.0.1', '100.128.0.1', '192.169.0.1', '169.255.0.1', '2001:4860:4860::8888', '::ffff:8.8.8.8']) {
      expect([a, isDestinationAllowed(production, a)]).toEqual([a, true]);
    }
  });

  it('an allow entry cannot re-open a range the profile denies (deny wins)', () => {
    const p = createDestinationPolicy({ profile: 'production', allow: ['10.0.0.0/8', '8.8.8.0/24'] });
    expect(isDestinationAllowed(p, '10.0.0.5')).toBe(false);
    expect(isDestinationAllowed(p, '8.8.8.8')).toBe(true);
    expect(isDestinationAllowed(p, '1.1.1.1')).toBe(false);
  });

  it('adds configured deny blocks to the profile\'s', () => {
    const p = createDestinationPolicy({ profile: 'production', deny: ['198.51.100.0/24'] });
    expect(isDestinationAllowed(p, '198.51.100.9')).toBe(false);
    expect(isDestinationAllowed(p, '127.0.0.1')).toBe(false);
  });
});

describe('refusals', () => {
  it('an unparseable address is never allowed', () => {
    expect(isDestinationAllowed(OPEN_DESTINATION_POLICY, 'localhost')).toBe(false);
    expect(isDestinationAllowed(OPEN_DESTINATION_POLICY, '')).toBe(false);
  });

  it('the refusal names the URL host only, and is told apart from other errors', () => {
    const e = destinationRefused('hooks.example.com:8443', '10.0.0.7');
    expect(e.message).toBe('destination hooks.example.com:8443 is not allowed by the webhook policy');
    expect(e.message).not.toContain('10.0.0.7');
    expect(isDestinationRefused(e)).toBe(true);
    expect(isDestinationRefused(new MeshError('FORBIDDEN', 'other'))).toBe(false);
    expect(isDestinationRefused(new Error('x'))).toBe(false);
  });

  it('a bad block in the options throws naming it', () => {
    expect(() => createDestinationPolicy({ deny: ['10.0.0.0/8', '10.0.0.1/8'] })).toThrow(/"10\.0\.0\.1\/8" has host bits set/);
  });
});
