/** infra/discovery.ts: which adapter a configuration builds (the etcd choice; Redis and Consul in config.test.ts). */
import { describe, expect, it } from 'vitest';
import { loadConfig, parseConfig } from '../../../infra/config.js';
import { createDiscoveryAdapter, discoveryKind, etcdEndpoints } from '../../../infra/discovery.js';
import { EtcdDiscovery } from '../../../regions/discovery/etcd-discovery.js';
import { RedisDiscovery } from '../../../regions/discovery/redis-discovery.js';

describe('configuration: discovery on etcd', () => {
  it('picks etcd when discovery.kind says so (default endpoint) or when endpoints are set', async () => {
    const byKind = parseConfig({ discovery: { kind: 'etcd' } });
    expect(discoveryKind(byKind)).toBe('etcd');
    expect(etcdEndpoints(byKind)).toEqual(['http://127.0.0.1:2379']);
    expect(byKind.discovery.etcd.watchRenewMs).toBe(30000);
    const byEndpoints = parseConfig({ discovery: { etcd: { endpoints: ['http://127.0.9.60:2379', 'https://etcd-2.example:2379'] } } });
    expect(discoveryKind(byEndpoints)).toBe('etcd');
    expect(discoveryKind(loadConfig({ env: { DISCOVERY_KIND: 'etcd' } }))).toBe('etcd');
    // An explicit kind wins over the endpoints; Consul's address wins over them when no kind is given.
    expect(discoveryKind(parseConfig({ discovery: { kind: 'redis', etcd: { endpoints: ['http://127.0.9.60:2379'] } } }))).toBe('redis');
    expect(discoveryKind(parseConfig({ discovery: { consul: { address: 'c:8500' }, etcd: { endpoints: ['http://127.0.9.60:2379'] } } }))).toBe('consul');

    const etcd = createDiscoveryAdapter(byEndpoints, () => undefined);
    const redis = createDiscoveryAdapter(parseConfig({}), () => undefined);
    try {
      expect(etcd).toBeInstanceOf(EtcdDiscovery);
      expect(redis).toBeInstanceOf(RedisDiscovery);
    } finally {
      await etcd.close();
      await redis.close();
    }
  });

  it('names the bad key: an endpoint that is not http[s]://host:port, an empty list, too short a renewal', () => {
    expect(() => parseConfig({ discovery: { etcd: { endpoints: ['127.0.0.1:2379'] } } })).toThrow(/discovery\.etcd\.endpoints\.0/);
    expect(() => parseConfig({ discovery: { etcd: { endpoints: ['http://127.0.0.1:2379/v3'] } } })).toThrow(/discovery\.etcd\.endpoints\.0/);
    expect(() => parseConfig({ discovery: { etcd: { endpoints: [] } } })).toThrow(/discovery\.etcd\.endpoints/);
    expect(() => parseConfig({ discovery: { etcd: { watchRenewMs: 10 } } })).toThrow(/discovery\.etcd\.watchRenewMs/);
    expect(() => parseConfig({ discovery: { etcd: { endpoint: 'http://127.0.0.1:2379' } } })).toThrow(/discovery\.etcd/);
  });
});
