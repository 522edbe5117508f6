/**
 * RedisDiscovery against the real Redis of the integration project: the
 * shared contract, plus what only this adapter has (its timeouts).
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isMeshError } from '../../../../regions/core/errors.js';
import { RedisDiscovery } from '../../../../regions/discovery/redis-discovery.js';
import { discoveryContract } from './discovery-contract.js';

const REDIS_URL = 'redis://127.0.0.1:6391';
const PREFIX = `it:regions:disc:${randomBytes(3).toString('hex')}:`;

discoveryContract('RedisDiscovery', () => new RedisDiscovery({ url: REDIS_URL, keyPrefix: PREFIX, pollIntervalMs: 100 }), {
  ttlMs: 900,
  expirySlackMs: 600,
});

describe('RedisDiscovery timeouts', () => {
  // A "Redis" that accepts connections and never answers.
  let blackhole: Server;
  const sockets = new Set<Socket>();
  beforeAll(async () => {
    blackhole = createServer((s) => {
      sockets.add(s);
      s.on('error', () => undefined);
    });
    await new Promise<void>((r) => blackhole.listen(6391, '127.0.9.31', r));
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => blackhole.close(() => r()));
  });

  it('bounds every call by commandTimeoutMs when Redis does not answer', async () => {
    const d = new RedisDiscovery({ url: 'redis://127.0.9.31:6391', keyPrefix: PREFIX, commandTimeoutMs: 300 });
    try {
      const t0 = Date.now();
      await expect(d.list({ service: 'media' })).rejects.toSatisfy((e: unknown) => isMeshError(e, 'UPSTREAM_TIMEOUT'));
      const t1 = Date.now();
      await expect(
        d.register({ id: 'x', service: 'media', region: 'us-east', address: '127.0.9.1', port: 1, capabilities: [], meta: {} }, { ttlMs: 900 }),
      ).rejects.toSatisfy((e: unknown) => isMeshError(e));
      expect(t1 - t0).toBeLessThan(1000);
      expect(Date.now() - t1).toBeLessThan(1000);
    } finally {
      await d.close();
    }
  });

  it('fails fast with a MeshError when nothing listens', async () => {
    const d = new RedisDiscovery({ url: 'redis://127.0.9.32:6391', keyPrefix: PREFIX, commandTimeoutMs: 300 });
    try {
      const t0 = Date.now();
      await expect(d.list({ service: 'media' })).rejects.toSatisfy((e: unknown) => isMeshError(e));
      expect(Date.now() - t0).toBeLessThan(1000);
    } finally {
      await d.close();
    }
  });
});
