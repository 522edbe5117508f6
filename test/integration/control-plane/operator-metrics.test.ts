/**
 * /metrics from real NodeMetricsSnapshots in real Redis: published by the real
 * publisher, rendered, served over HTTP, parsed back and checked.
 */
import { Hono } from 'hono';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CONTENT_TYPE } from '../../../control-plane/metrics/exposition.js';
import { metricsHandler } from '../../../control-plane/metrics/handler.js';
import { readSnapshots, renderMetrics } from '../../../control-plane/metrics/render.js';
import { nodeInfoFromMetrics } from '../../../control-plane/operator/types.js';
import { startMetricsPublisher } from '../../../regions/store/node-metrics.js';
import { keys } from '../../../regions/store/keys.js';
import type { NodeMetricsSnapshot } from '../../../regions/store/schema.js';
import { TEST_REDIS_URL } from '../global-setup.js';
import { parsePrometheus, valueOf } from '../../unit/control-plane/metrics/prom-parser.js';
import { serveApp, type Served } from './operator-harness.js';

const PREFIX = `it-operator-metrics-${process.pid}:`;
const k = keys(PREFIX);
let redis: Redis;

function snap(nodeId: string, region: string, over: Partial<NodeMetricsSnapshot> = {}): NodeMetricsSnapshot {
  return {
    nodeId,
    region,
    at: Date.now(),
    activeCalls: 2,
    callAttempts: 9,
    callFailures: { '486': 1, '408': 2 },
    ngLatency: {
      'media-1': { buckets: { '1': 2, '5': 5, '10': 6, '+Inf': 7 }, sumMs: 40, count: 7 },
      'media-2': { buckets: { '1': 0, '5': 1, '10': 1 }, sumMs: 3, count: 1 },
    },
    webhook: { requests: 4, failures: 1, latencySumMs: 250 },
    placements: { local: 7, remote: 2 },
    ...over,
  };
}

async function put(s: NodeMetricsSnapshot, ttl = 15): Promise<void> {
  await redis.set(k.nodeMetrics(s.nodeId), JSON.stringify(s), 'EX', ttl);
  await redis.sadd(k.metricsNodes(), s.nodeId);
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

describe('renderMetrics from Redis', () => {
  it('renders published snapshots of several regions, labelled by region and node', async () => {
    const pubs = [
      startMetricsPublisher({ redis, keyPrefix: PREFIX, intervalMs: 50, snapshot: () => snap('us-east-sig-1', 'us-east') }),
      startMetricsPublisher({
        redis,
        keyPrefix: PREFIX,
        intervalMs: 50,
        snapshot: () => snap('eu-west-sig-1', 'eu-west', { activeCalls: 5, callFailures: { '503': 4 } }),
      }),
    ];
    try {
      await expect.poll(async () => (await redis.smembers(k.metricsNodes())).sort(), { timeout: 2000 }).toEqual([
        'eu-west-sig-1',
        'us-east-sig-1',
      ]);
    } finally {
      await Promise.all(pubs.map((p) => p.close()));
    }
    const text = await renderMetrics(redis, PREFIX);
    const f = parsePrometheus(text);
    const us = { region: 'us-east', node: 'us-east-sig-1' };
    const eu = { region: 'eu-west', node: 'eu-west-sig-1' };
    expect(valueOf(f, 'mesh_active_calls', 'mesh_active_calls', us)).toBe(2);
    expect(valueOf(f, 'mesh_active_calls', 'mesh_active_calls', eu)).toBe(5);
    expect(valueOf(f, 'mesh_call_attempts_total', 'mesh_call_attempts_total', us)).toBe(9);
    expect(valueOf(f, 'mesh_call_failures_total', 'mesh_call_failures_total', { ...us, cause: '408' })).toBe(2);
    expect(valueOf(f, 'mesh_call_failures_total', 'mesh_call_failures_total', { ...eu, cause: '503' })).toBe(4);
    expect(valueOf(f, 'mesh_call_failures_total', 'mesh_call_failures_total', { ...eu, cause: '486' })).toBeUndefined();
    expect(valueOf(f, 'mesh_placement_decisions_total', 'mesh_placement_decisions_total', { ...us, outcome: 'local' })).toBe(7);
    expect(valueOf(f, 'mesh_webhook_requests_total', 'mesh_webhook_requests_total', us)).toBe(4);
    expect(valueOf(f, 'mesh_webhook_failures_total', 'mesh_webhook_failures_total', us)).toBe(1);
    expect(valueOf(f, 'mesh_webhook_duration_seconds', 'mesh_webhook_duration_seconds_sum', us)).toBe(0.25);

    // Histogram: buckets cumulative and ascending, +Inf = _count, per media node.
    const h = f.get('mesh_ng_command_duration_seconds')!;
    expect(h.type).toBe('histogram');
    for (const media of ['media-1', 'media-2']) {
      const buckets = h.samples.filter((s) => s.name.endsWith('_bucket') && s.labels.node === 'us-east-sig-1' && s.labels.media_node === media);
      const les = buckets.map((b) => Number(b.labels.le === '+Inf' ? Infinity : b.labels.le));
      expect(les).toEqual([...les].sort((a, b) => a - b));
      expect(les.at(-1)).toBe(Infinity);
      const values = buckets.map((b) => b.value);
      expect(values).toEqual([...values].sort((a, b) => a - b));
      const count = valueOf(f, h.name, `${h.name}_count`, { ...us, media_node: media });
      expect(values.at(-1)).toBe(count);
    }
    expect(valueOf(f, h.name, `${h.name}_bucket`, { ...us, media_node: 'media-1', le: '0.005' })).toBe(5);
    expect(valueOf(f, h.name, `${h.name}_sum`, { ...us, media_node: 'media-1' })).toBe(0.04);

    // Every family has HELP and TYPE; counters end in _total.
    for (const fam of f.values()) {
      expect(fam.help.length).toBeGreaterThan(0);
      if (fam.type === 'counter') expect(fam.name.endsWith('_total')).toBe(true);
    }
  });

  it('skips snapshots older than 15 s and forgets nodes whose key expired', async () => {
    await put(snap('fresh', 'us-east'));
    await put(snap('stale', 'us-east', { at: Date.now() - 16_000 }));
    await put(snap('expired', 'us-east'), 1);
    await redis.del(k.nodeMetrics('expired'));
    await redis.set(k.nodeMetrics('corrupt'), '{not json');
    await redis.sadd(k.metricsNodes(), 'corrupt');
    const f = parsePrometheus(await renderMetrics(redis, PREFIX));
    const nodes = new Set(f.get('mesh_active_calls')!.samples.map((s) => s.labels.node));
    expect([...nodes]).toEqual(['fresh']);
    expect((await redis.smembers(k.metricsNodes())).sort()).toEqual(['corrupt', 'fresh', 'stale']);
    // The stale limit is configurable, e.g. for a slower publisher.
    const relaxed = await readSnapshots(redis, PREFIX, { staleMs: 60_000 });
    expect(relaxed.map((s) => s.nodeId).sort()).toEqual(['fresh', 'stale']);
  });

  it('renders only HELP/TYPE lines when no node published', async () => {
    const f = parsePrometheus(await renderMetrics(redis, PREFIX));
    expect(f.size).toBeGreaterThan(0);
    for (const fam of f.values()) expect(fam.samples).toEqual([]);
  });

  it('derives signaling node info from the snapshots for the operator API', async () => {
    await put(snap('us-east-sig-1', 'us-east', { at: Date.now() - 20_000 }));
    await put(snap('us-east-sig-2', 'us-east'));
    const infos = (await readSnapshots(redis, PREFIX, { staleMs: 60_000 })).map((s) => nodeInfoFromMetrics(s));
    // A node whose snapshot went stale is dead: no load now, its last report kept as lastLoad.
    expect(infos.map((i) => [i.id, i.healthy, i.state, i.load, i.lastLoad])).toEqual([
      ['us-east-sig-1', false, 'dead', null, 2],
      ['us-east-sig-2', true, 'serving', 2, undefined],
    ]);
  });
});

describe('GET /metrics', () => {
  let served: Served;
  let brokenRedis: Redis;
  const errors: unknown[] = [];

  beforeAll(async () => {
    brokenRedis = new Redis({ host: '127.0.0.1', port: 1, lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
    brokenRedis.on('error', () => {});
    const app = new Hono();
    app.get(
      '/metrics',
      metricsHandler({
        redis,
        keyPrefix: PREFIX,
        extra: () => ({ region: 'us-east', node: 'cp-1', apiRequests: [{ api: 'operator', method: 'GET', status: 200, count: 3 }] }),
      }),
    );
    app.get('/broken', metricsHandler({ redis: brokenRedis, keyPrefix: PREFIX, onError: (e) => errors.push(e) }));
    served = await serveApp(app);
  });

  afterAll(async () => {
    await served.close();
    brokenRedis.disconnect();
  });

  it('serves the text format with the right content type, node and control-plane series', async () => {
    await put(snap('us-east-sig-1', 'us-east', { activeCalls: 11 }));
    const res = await fetch(`${served.base}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(CONTENT_TYPE);
    const f = parsePrometheus(await res.text());
    expect(valueOf(f, 'mesh_active_calls', 'mesh_active_calls', { node: 'us-east-sig-1' })).toBe(11);
    expect(valueOf(f, 'mesh_api_requests_total', 'mesh_api_requests_total', { node: 'cp-1', api: 'operator', status: '200' })).toBe(3);
  });

  it('answers 503 when Redis is unreachable', async () => {
    const res = await fetch(`${served.base}/broken`);
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ code: 'SERVICE_UNAVAILABLE', status: 503 });
    expect(errors.length).toBe(1);
  });
});
