/**
 * infra/discovery.ts on etcd: a configuration with `discovery.kind: etcd`
 * builds a MeshDiscovery whose registrar and views work against the real etcd
 * of the integration set-up (the Redis choice is exercised by
 * discovery-wiring.test.ts and discovery-outage.test.ts).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../infra/config.js';
import { createMeshDiscovery, type MeshDiscovery } from '../../../infra/discovery.js';
import { silentLogger } from '../../../regions/core/log.js';
import { EtcdDiscovery } from '../../../regions/discovery/etcd-discovery.js';
import { TEST_ETCD_URL } from '../global-setup.js';
import { waitFor } from '../regions/helpers.js';

describe('MeshDiscovery on etcd', () => {
  const meshes: MeshDiscovery[] = [];
  afterAll(async () => {
    await Promise.allSettled(meshes.map((m) => m.close()));
  });

  it('announces through the registrar, is seen by the view of another node, and withdraws on close', async () => {
    const u = randomBytes(4).toString('hex');
    const config = parseConfig({ discovery: { kind: 'etcd', etcd: { endpoints: [TEST_ETCD_URL] }, keyPrefix: `it/infra/disc/${u}/`, ttlMs: 2000 } });
    const node = createMeshDiscovery(config, silentLogger);
    const observer = createMeshDiscovery(config, silentLogger);
    meshes.push(node, observer);
    expect(node.kind).toBe('etcd');
    expect(node.discovery).toBeInstanceOf(EtcdDiscovery);

    const view = observer.view({ service: 'media', region: 'eu-west' });
    const id = `etcd-media-${u}`;
    node.registrar.announce({ id, service: 'media', region: 'eu-west', address: '127.0.9.70', port: 2223, capabilities: ['relay'], meta: { sessions: '0' } });
    await waitFor(() => view.has(id), 5000, 'announcement seen by the other view');
    expect(node.registrar.isRegistered(id)).toBe(true);

    // A changed load is announced again and reaches the view.
    node.registrar.announce({ id, service: 'media', region: 'eu-west', address: '127.0.9.70', port: 2223, capabilities: ['relay'], meta: { sessions: '3' } });
    await waitFor(() => view.get(id)?.meta['sessions'] === '3', 5000, 'new load seen');

    await node.close();
    await waitFor(() => !view.has(id), 1500, 'withdrawal seen (before the 2 s TTL could remove it)');
  });
});
