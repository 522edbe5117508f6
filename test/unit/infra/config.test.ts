import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configPathFromArgv, loadConfig, parseConfig } from '../../../infra/config.js';
import { discoveryKeyPrefix, discoveryKind } from '../../../infra/discovery.js';
import { isMeshError } from '../../../regions/core/errors.js';

describe('configuration', () => {
  it('fills every default for an empty object (the embedded default)', () => {
    const c = parseConfig({});
    expect(c.region).toBe('us-east');
    expect(c.sip.address).toBe('127.0.1.1');
    expect(c.sip.port).toBe(5060);
    expect(c.sip.transports).toEqual(['UDP', 'TCP']);
    expect(c.media.nodes.map((n) => n.address)).toEqual(['127.0.1.11', '127.0.1.12']);
    expect(c.routes).toEqual([{ prefix: '+1555', destination: 'sip:127.0.0.1:5090' }]);
  });

  it('names the bad key in the error', () => {
    try {
      parseConfig({ sip: { port: 70000 } });
      expect.unreachable();
    } catch (e) {
      expect(isMeshError(e, 'CONFIG_INVALID')).toBe(true);
      expect((e as Error).message).toContain('sip.port');
    }
  });

  it('rejects unknown keys instead of ignoring typos', () => {
    expect(() => parseConfig({ sip: { prot: 5060 } })).toThrow(/sip/);
  });

  it('rejects a media node whose RTP range is inverted, naming the node field', () => {
    expect(() =>
      parseConfig({ media: { nodes: [{ id: 'm1', address: '127.0.0.1', rtpPortMin: 5000, rtpPortMax: 4000 }] } }),
    ).toThrow(/media\.nodes\.0\.rtpPortMin/);
  });

  it('rejects a non-IP listen address and a non-SIP route', () => {
    expect(() => parseConfig({ sip: { address: 'example.com' } })).toThrow(/sip\.address/);
    expect(() => parseConfig({ routes: [{ prefix: '+1', destination: 'http://x' }] })).toThrow(/routes\.0\.destination/);
  });

  it('loads a file and applies environment overrides on top', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    const file = join(dir, 'c.json');
    writeFileSync(file, JSON.stringify({ region: 'eu-west', sip: { port: 5070 } }));
    const c = loadConfig({ file, env: { SIP_PORT: '5080', REDIS_URL: 'redis://127.0.0.1:7000' } });
    expect(c.region).toBe('eu-west');
    expect(c.sip.port).toBe(5080);
    expect(c.redis.url).toBe('redis://127.0.0.1:7000');
  });

  it('reports unreadable and non-JSON files clearly', () => {
    expect(() => loadConfig({ file: '/nonexistent/x.json', env: {} })).toThrow(/cannot read configuration file/);
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    const file = join(dir, 'bad.json');
    writeFileSync(file, '{ not json');
    expect(() => loadConfig({ file, env: {} })).toThrow(/not valid JSON/);
  });

  it('takes the secrets key from SECRETS_KEY, and names secretsKey (never its value) when it is not 32 bytes', () => {
    expect(parseConfig({}).secretsKey).toBeUndefined();
    const key = 'ab'.repeat(32);
    expect(loadConfig({ env: { SECRETS_KEY: key } }).secretsKey).toBe(key);
    try {
      loadConfig({ env: { SECRETS_KEY: 'too-short-a-key' } });
      expect.unreachable();
    } catch (e) {
      expect((e as Error).message).toMatch(/secretsKey: must be 32 bytes/);
      expect((e as Error).message).not.toContain('too-short-a-key');
    }
  });

  it('reads --config from argv in both spellings', () => {
    expect(configPathFromArgv(['node', 'x', '--config', 'a.json'])).toBe('a.json');
    expect(configPathFromArgv(['node', 'x', '--config=b.json'])).toBe('b.json');
    expect(configPathFromArgv(['node', 'x'])).toBeUndefined();
  });
});

describe('configuration: discovery', () => {
  it('defaults to Redis with its defaults beside the keys', () => {
    const c = parseConfig({ redis: { keyPrefix: 'm1:' } });
    expect(discoveryKind(c)).toBe('redis');
    expect(discoveryKeyPrefix(c)).toBe('m1:disc:');
    expect(c.discovery).toMatchObject({ ttlMs: 3000, requestTimeoutMs: 1000, reconcileMs: 2000, maxBackoffMs: 10000, loadUpdateMs: 2000 });
    expect(c.mesh.linkDelaysMs).toEqual({});
    expect(c.mesh.linkMatrixMs).toEqual({});
    expect(c.mesh.applicationMedia).toBe('edge');
  });

  it('picks Consul when CONSUL_HTTP_ADDR is set, or when discovery.kind says so', () => {
    const fromEnv = loadConfig({ env: { CONSUL_HTTP_ADDR: '127.0.9.33:8500', CONSUL_HTTP_TOKEN: 't' } });
    expect(discoveryKind(fromEnv)).toBe('consul');
    expect(fromEnv.discovery.consul).toMatchObject({ address: '127.0.9.33:8500', token: 't' });
    expect(discoveryKind(parseConfig({ discovery: { kind: 'consul', consul: { address: 'consul:8500' } } }))).toBe('consul');
    // An explicit kind wins over the address.
    expect(discoveryKind(parseConfig({ discovery: { kind: 'redis', consul: { address: 'consul:8500' } } }))).toBe('redis');
  });

  it('names discovery.consul.address when Consul is asked for without one, and rejects a TTL Consul cannot take', () => {
    expect(() => parseConfig({ discovery: { kind: 'consul' } })).toThrow(/discovery\.consul\.address/);
    expect(() => loadConfig({ env: { DISCOVERY_KIND: 'zookeeper' } })).toThrow(/discovery\.kind/);
    expect(() => parseConfig({ discovery: { ttlMs: 500 } })).toThrow(/discovery\.ttlMs/);
  });
});
