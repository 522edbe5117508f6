/**
 * regions/store/node-metrics.ts against real Redis with short real intervals,
 * plus an unreachable Redis and one that accepts but never answers.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../regions/core/log.js';
import { startMetricsPublisher } from '../../../regions/store/node-metrics.js';
import { keys } from '../../../regions/store/keys.js';
import type { NodeMetricsSnapshot } from '../../../regions/store/schema.js';
import { TEST_REDIS_URL } from '../global-setup.js';

const PREFIX = `it-operator-publisher-${process.pid}:`;
const k = keys(PREFIX);
let redis: Redis;

function snap(nodeId: string, activeCalls: number): NodeMetricsSnapshot {
  return {
    nodeId,
    region: 'us-east',
    at: Date.now(),
    activeCalls,
    callAttempts: 0,
    callFailures: {},
    ngLatency: {},
    webhook: { requests: 0, failures: 0, latencySumMs: 0 },
    placements: {},
  };
}

function capturingLogger(): { lines: Record<string, unknown>[]; log: ReturnType<typeof createLogger> } {
  const lines: Record<string, unknown>[] = [];
  return { lines, log: createLogger('debug', {}, (l) => lines.push(JSON.parse(l) as Record<string, unknown>)) };
}

beforeAll(() => {
  redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1, commandTimeout: 2000 });
});

afterAll(async () => {
  const left = await redis.keys(`${PREFIX}*`);
  if (left.length > 0) await redis.del(...left);
  redis.disconnect();
});

beforeEach(async () => {
  const left = await redis.keys(`${PREFIX}*`);
  if (left.length > 0) await redis.del(...left);
});

describe('startMetricsPublisher', () => {
  it('publishes at once, then every interval, with SET EX and SADD', async () => {
    let calls = 0;
    const pub = startMetricsPublisher({
      redis,
      keyPrefix: PREFIX,
      intervalMs: 40,
      ttlSeconds: 7,
      snapshot: () => snap('sig-a', ++calls),
    });
    try {
      await expect.poll(() => redis.get(k.nodeMetrics('sig-a')), { timeout: 1000, interval: 5 }).not.toBeNull();
      expect(await redis.smembers(k.metricsNodes())).toEqual(['sig-a']);
      const ttl = await redis.ttl(k.nodeMetrics('sig-a'));
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(7);
      // Later snapshots overwrite the key.
      await expect
        .poll(async () => (JSON.parse((await redis.get(k.nodeMetrics('sig-a')))!) as NodeMetricsSnapshot).activeCalls, { timeout: 2000 })
        .toBeGreaterThanOrEqual(3);
    } finally {
      await pub.close();
    }
  });

  it('close() is idempotent, stops publishing and deletes nothing', async () => {
    let calls = 0;
    const pub = startMetricsPublisher({ redis, keyPrefix: PREFIX, intervalMs: 30, snapshot: () => snap('sig-b', ++calls) });
    await expect.poll(() => redis.exists(k.nodeMetrics('sig-b')), { timeout: 1000 }).toBe(1);
    const first = pub.close();
    expect(pub.close()).toBe(first);
    await first;
    await pub.close();
    const after = calls;
    await new Promise((r) => setTimeout(r, 150));
    expect(calls).toBe(after);
    expect(await redis.exists(k.nodeMetrics('sig-b'))).toBe(1);
    expect(await redis.sismember(k.metricsNodes(), 'sig-b')).toBe(1);
    const ttl = await redis.ttl(k.nodeMetrics('sig-b'));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(15);
  });

  it('logs and keeps going when snapshot() throws', async () => {
    const { lines, log } = capturingLogger();
    let calls = 0;
    const pub = startMetricsPublisher({
      redis,
      keyPrefix: PREFIX,
      intervalMs: 30,
      log,
      snapshot: () => {
        calls += 1;
        if (calls <= 2) throw new Error('counter broke');
        return snap('sig-c', calls);
      },
    });
    try {
      await expect.poll(() => redis.exists(k.nodeMetrics('sig-c')), { timeout: 2000 }).toBe(1);
      expect(lines.filter((l) => l.msg === 'metrics publish failed' && l.error === 'counter broke')).toHaveLength(2);
    } finally {
      await pub.close();
    }
  });

  it('never throws when Redis is unreachable', async () => {
    const dead = new Redis({ host: '127.0.0.1', port: 1, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null, lazyConnect: true });
    dead.on('error', () => {});
    const { lines, log } = capturingLogger();
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown): void => {
      unhandled.push(e);
    };
    process.on('unhandledRejection', onUnhandled);
    const pub = startMetricsPublisher({ redis: dead, keyPrefix: PREFIX, intervalMs: 20, log, snapshot: () => snap('sig-d', 1) });
    try {
      await expect.poll(() => lines.length, { timeout: 2000 }).toBeGreaterThanOrEqual(3);
      expect(lines.every((l) => l.level === 'warn' && l.msg === 'metrics publish failed')).toBe(true);
    } finally {
      await pub.close();
      process.off('unhandledRejection', onUnhandled);
      dead.disconnect();
    }
    expect(unhandled).toEqual([]);
  });

  describe('with a Redis that accepts but never answers', () => {
    let server: Server;
    const sockets: Socket[] = [];
    beforeAll(async () => {
      server = createServer((s) => {
        sockets.push(s);
        s.on('error', () => {});
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    });
    afterAll(async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    });

    it('abandons a hung publish after the timeout and does not pile up, close() returns promptly', async () => {
      const { port } = server.address() as AddressInfo;
      const silent = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 0, retryStrategy: () => null });
      silent.on('error', () => {});
      const { lines, log } = capturingLogger();
      let calls = 0;
      const pub = startMetricsPublisher({
        redis: silent,
        keyPrefix: PREFIX,
        intervalMs: 20,
        timeoutMs: 100,
        log,
        snapshot: () => snap('sig-e', ++calls),
      });
      try {
        await expect.poll(() => lines.length, { timeout: 2000 }).toBeGreaterThanOrEqual(2);
        expect(String(lines[0]?.error)).toMatch(/timed out after 100 ms/);
        // Ticks every 20 ms but at most one publish per 100 ms timeout: skipped, not queued.
        expect(calls).toBeLessThanOrEqual(lines.length + 1);
      } finally {
        const started = Date.now();
        await pub.close();
        expect(Date.now() - started).toBeLessThan(500);
        silent.disconnect();
      }
    });
  });
});
