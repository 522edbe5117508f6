/**
 * `webhooks.*` in the configuration: validated at start (a bad block names
 * its key), defaults that keep the loopback examples working, and the
 * production profile refusing the node's own addresses from the config.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../infra/config.js';
import { platformAddresses, webhookPolicyFromConfig } from '../../../infra/webhook-policy.js';
import { isMeshError } from '../../../regions/core/errors.js';
import { isDestinationAllowed } from '../../../regions/net/destination-policy.js';

function configError(raw: unknown): string {
  try {
    parseConfig(raw);
    return 'accepted';
  } catch (e) {
    expect(isMeshError(e, 'CONFIG_INVALID')).toBe(true);
    return (e as Error).message;
  }
}

describe('webhooks configuration', () => {
  it('defaults: development profile, every address allowed, nothing denied', () => {
    expect(parseConfig({}).webhooks).toEqual({ profile: 'development', allow: ['0.0.0.0/0', '::/0'], deny: [] });
  });

  it('the embedded default configuration reaches application servers on loopback', () => {
    const c = parseConfig(JSON.parse(readFileSync('infra/config/us-east.json', 'utf8')));
    const p = webhookPolicyFromConfig(c);
    for (const a of ['127.0.0.1', '127.0.1.1', '::1']) expect(isDestinationAllowed(p, a)).toBe(true);
  });

  it('rejects a bad block naming the key and saying why', () => {
    expect(configError({ webhooks: { deny: ['10.0.0.0/8', '10.0.0.1/8'] } })).toMatch(/webhooks\.deny\.1: "10\.0\.0\.1\/8" has host bits set/);
    expect(configError({ webhooks: { allow: ['example.com'] } })).toMatch(/webhooks\.allow\.0: .*not an IPv4 or IPv6/);
    expect(configError({ webhooks: { allow: ['::/200'] } })).toMatch(/webhooks\.allow\.0: .*prefix length/);
    expect(configError({ webhooks: { profile: 'strict' } })).toMatch(/webhooks\.profile/);
    expect(configError({ webhooks: { denny: [] } })).toMatch(/webhooks/);
  });

  it('production refuses loopback, private ranges and the node\'s own addresses from the config', () => {
    const c = parseConfig({
      sip: { address: '198.51.100.1' },
      controlPlane: { address: '198.51.100.2' },
      media: { nodes: [{ id: 'm1', address: '198.51.100.3' }] },
      redis: { url: 'redis://198.51.100.4:6379' },
      mesh: { peers: [{ region: 'eu-west', address: '198.51.100.5' }] },
      router: { publicBaseUrl: 'https://[2001:db8::6]:8443' },
      webhooks: { profile: 'production' },
    });
    const own = platformAddresses(c, () => ({ eth0: [{ address: '203.0.113.7', family: 'IPv4', netmask: '255.255.255.0', mac: '00:00:00:00:00:00', internal: false, cidr: '203.0.113.7/24' }] }));
    expect(own).toEqual(expect.arrayContaining(['198.51.100.1', '198.51.100.2', '198.51.100.3', '198.51.100.4', '198.51.100.5', '2001:db8::6', '203.0.113.7']));
    const p = webhookPolicyFromConfig(c);
    for (const a of ['198.51.100.1', '198.51.100.2', '198.51.100.3', '198.51.100.4', '198.51.100.5', '2001:db8::6', '127.0.0.1', '10.0.0.1', '::ffff:127.0.0.1']) {
      expect([a, isDestinationAllowed(p, a)]).toEqual([a, false]);
    }
    expect(isDestinationAllowed(p, '198.51.100.9')).toBe(true);
  });

  it('a configured allow list narrows what production allows; deny still wins', () => {
    const p = webhookPolicyFromConfig(parseConfig({ webhooks: { profile: 'production', allow: ['198.51.100.0/24'], deny: ['198.51.100.128/25'] } }));
    expect(isDestinationAllowed(p, '198.51.100.9')).toBe(true);
    expect(isDestinationAllowed(p, '198.51.100.200')).toBe(false);
    expect(isDestinationAllowed(p, '8.8.8.8')).toBe(false);
  });
});
