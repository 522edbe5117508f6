/**
 * EtcdDiscovery against the real etcd the integration set-up starts
 * (Debian etcd-server): the shared contract, plus what only this adapter has
 * (timeouts, several endpoints, a watch that survives etcd going away).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isMeshError } from '../../../../regions/core/errors.js';
import { EtcdDiscovery } from '../../../../regions/discovery/etcd-discovery.js';
import type { DiscoveryChange, ServiceInstance } from '../../../../regions/discovery/types.js';
import { ensureEtcd } from '../../../../infra/etcd.js';
import { TEST_ETCD_URL } from '../../global-setup.js';
import { discoveryContract } from './discovery-contract.js';
import { waitFor } from '../helpers.js';

const PREFIX = `it/regions/disc/${randomBytes(3).toString('hex')}/`;

// etcd's lease TTL is whole seconds with a floor of about 2 s (1.5 election timeouts), and its
// lessor looks for expired leases every 500 ms: 2 s TTL, 1.5 s slack.
discoveryContract('EtcdDiscovery', () => new EtcdDiscovery({ endpoints: [TEST_ETCD_URL], keyPrefix: PREFIX }), {
  ttlMs: 2000,
  expirySlackMs: 1500,
});

const inst = (id: string, service: string): ServiceInstance => ({
  id,
  service,
  region: 'eu-west',
  address: '127.0.9.50',
  port: 2223,
  capabilities: ['relay'],
  meta: {},
});

describe('EtcdDiscovery leases', () => {
  it('re-registering an id under another service takes it out of the old one (its old lease is revoked)', async () => {
    const a = new EtcdDiscovery({ endpoints: [TEST_ETCD_URL], keyPrefix: PREFIX });
    const b = new EtcdDiscovery({ endpoints: [TEST_ETCD_URL], keyPrefix: PREFIX });
    try {
      const u = randomBytes(4).toString('hex');
      const id = `moving-${u}`;
      await a.register(inst(id, `old-${u}`), { ttlMs: 5000 });
      expect((await b.list({ service: `old-${u}` })).map((i) => i.id)).toEqual([id]);
      // Another node takes the id over under a new service.
      const moved = await b.register(inst(id, `new-${u}`), { ttlMs: 5000 });
      expect((await a.list({ service: `new-${u}` })).map((i) => i.id)).toEqual([id]);
      // Well before the old TTL (5 s) runs out.
      const t0 = Date.now();
      let old = await a.list({ service: `old-${u}` });
      while (old.length > 0 && Date.now() - t0 < 2000) old = await a.list({ service: `old-${u}` });
      expect(old).toEqual([]);
      await moved.close();
      expect(await a.list({ service: `new-${u}` })).toEqual([]);
    } finally {
      await a.close();
      await b.close();
    }
  });
});

describe('EtcdDiscovery timeouts and endpoints', () => {
  // An "etcd" that accepts connections and never answers.
  let blackhole: Server;
  const sockets = new Set<Socket>();
  beforeAll(async () => {
    blackhole = createServer((s) => {
      sockets.add(s);
      s.on('error', () => undefined);
    });
    await new Promise<void>((r) => blackhole.listen(2379, '127.0.9.51', r));
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => blackhole.close(() => r()));
  });

  it('bounds every call by requestTimeoutMs when etcd does not answer, and fails fast when nothing listens', async () => {
    const silent = new EtcdDiscovery({ endpoints: ['http://127.0.9.51:2379'], keyPrefix: PREFIX, requestTimeoutMs: 300 });
    const absent = new EtcdDiscovery({ endpoints: ['http://127.0.9.52:2379'], keyPrefix: PREFIX, requestTimeoutMs: 300 });
    try {
      let t0 = Date.now();
      await expect(silent.list({ service: 'media' })).rejects.toSatisfy((e: unknown) => isMeshError(e, 'UPSTREAM_TIMEOUT'));
      expect(Date.now() - t0).toBeLessThan(1000);
      t0 = Date.now();
      await expect(silent.register(inst('x', 'media'), { ttlMs: 2000 })).rejects.toSatisfy((e: unknown) => isMeshError(e, 'UPSTREAM_TIMEOUT'));
      expect(Date.now() - t0).toBeLessThan(1000);
      t0 = Date.now();
      await expect(absent.list({ service: 'media' })).rejects.toSatisfy((e: unknown) => isMeshError(e, 'SERVICE_UNAVAILABLE'));
      expect(Date.now() - t0).toBeLessThan(1000);
    } finally {
      await silent.close();
      await absent.close();
    }
  });

  it('moves on to the next endpoint when the first cannot be reached', async () => {
    const d = new EtcdDiscovery({ endpoints: ['http://127.0.9.52:2379', 'http://127.0.9.51:2379', TEST_ETCD_URL], keyPrefix: PREFIX, requestTimeoutMs: 300 });
    try {
      const svc = `media-${randomBytes(4).toString('hex')}`;
      const reg = await d.register(inst(`ep-${svc}`, svc), { ttlMs: 2000 });
      expect((await d.list({ service: svc })).map((i) => i.id)).toEqual([reg.instance.id]);
      await reg.close();
      expect(await d.list({ service: svc })).toEqual([]);
    } finally {
      await d.close();
    }
  });

  it('close() aborts a call in flight with CLOSED', async () => {
    const d = new EtcdDiscovery({ endpoints: ['http://127.0.9.51:2379'], keyPrefix: PREFIX, requestTimeoutMs: 5000 });
    const pending = d.list({ service: 'media' });
    await new Promise((r) => setTimeout(r, 50));
    const t0 = Date.now();
    await d.close();
    await expect(pending).rejects.toSatisfy((e: unknown) => isMeshError(e, 'CLOSED'));
    expect(Date.now() - t0).toBeLessThan(1000);
  });
});

describe('EtcdDiscovery watch across an etcd restart', () => {
  it('keeps reporting after its etcd is stopped and started again on the same data', async () => {
    // A private etcd on its own address, so stopping it disturbs no other suite.
    const url = 'http://127.0.9.53:2391';
    const runDir = mkdtempSync(join(tmpdir(), 'mesh-etcd-restart-'));
    const start = () => ensureEtcd({ url, dataDir: join(runDir, 'data'), logDir: runDir });
    let etcd = await start();
    expect(etcd).not.toBeNull();
    const errors: string[] = [];
    const watcher = new EtcdDiscovery({ endpoints: [url], keyPrefix: PREFIX, requestTimeoutMs: 500, onError: (_e, what) => errors.push(what) });
    const writer = new EtcdDiscovery({ endpoints: [url], keyPrefix: PREFIX, requestTimeoutMs: 500 });
    try {
      const svc = `media-${randomBytes(4).toString('hex')}`;
      const changes: DiscoveryChange[] = [];
      watcher.watch({ service: svc }, (c) => changes.push(c));
      await writer.register(inst(`a-${svc}`, svc), { ttlMs: 5000 });
      await waitFor(() => changes.some((c) => c.added.some((i) => i.id === `a-${svc}`)), 5000, 'first registration seen');

      await etcd?.stop(5000);
      await waitFor(() => errors.some((w) => w.startsWith('watch')), 5000, 'watch failure reported');
      etcd = await start();
      expect(etcd).not.toBeNull();

      await writer.register(inst(`b-${svc}`, svc), { ttlMs: 5000 });
      await waitFor(() => changes.some((c) => c.added.some((i) => i.id === `b-${svc}`)), 10000, 'registration after restart seen');
      expect(changes.at(-1)?.instances.map((i) => i.id).sort()).toEqual([`a-${svc}`, `b-${svc}`]);
    } finally {
      await watcher.close();
      await writer.close();
      await etcd?.stop(5000);
    }
  });
});
