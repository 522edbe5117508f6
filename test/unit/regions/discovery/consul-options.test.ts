import { describe, expect, it } from 'vitest';
import { consulOptionsFromEnv } from '../../../../regions/discovery/consul-discovery.js';
import { RedisDiscovery, createDiscovery, ConsulDiscovery } from '../../../../regions/discovery/index.js';

describe('consulOptionsFromEnv', () => {
  it('is undefined without CONSUL_HTTP_ADDR', () => {
    expect(consulOptionsFromEnv({})).toBeUndefined();
    expect(consulOptionsFromEnv({ CONSUL_HTTP_ADDR: ' ' })).toBeUndefined();
  });

  it('parses host:port, URLs and the token', () => {
    expect(consulOptionsFromEnv({ CONSUL_HTTP_ADDR: '127.0.0.1:8500' })).toEqual({ host: '127.0.0.1', port: 8500, secure: false });
    expect(consulOptionsFromEnv({ CONSUL_HTTP_ADDR: 'https://consul.local', CONSUL_HTTP_TOKEN: 't' })).toEqual({
      host: 'consul.local',
      port: 443,
      secure: true,
      token: 't',
    });
    expect(consulOptionsFromEnv({ CONSUL_HTTP_ADDR: 'http://10.0.0.5:18500' })?.port).toBe(18500);
  });
});

describe('createDiscovery', () => {
  it('picks Consul when CONSUL_HTTP_ADDR is set, else Redis', async () => {
    const r = createDiscovery({ redis: { url: 'redis://127.0.9.33:1', commandTimeoutMs: 100 }, env: {} });
    const c = createDiscovery({ redis: { url: 'redis://127.0.9.33:1' }, env: { CONSUL_HTTP_ADDR: '127.0.9.33:8500' } });
    expect(r).toBeInstanceOf(RedisDiscovery);
    expect(c).toBeInstanceOf(ConsulDiscovery);
    await r.close();
    await c.close();
  });
});
