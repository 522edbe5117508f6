import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { parseConfig, type Config } from '../../../infra/config.js';
import { silentLogger } from '../../../regions/core/log.js';
import { startNodeDiscovery, type NodeDiscovery } from '../../../infra/node-discovery.js';
import { MediaNodeRegistry } from '../../../media/nodes/registry.js';
import type { NgClientLike } from '../../../media/ng/client.js';
import { MeshError } from '../../../regions/core/errors.js';
import type { ServiceInstance } from '../../../regions/discovery/types.js';
import { FakeDiscovery } from '../regions/discovery/fake-discovery.js';

/** ng clients whose ping answers while `alive` has their address. */
function fakeClients(alive: Set<string>, offers: string[]): (n: { address: string }) => NgClientLike {
  return (n) =>
    ({
      probe: async () => {
        if (!alive.has(n.address)) throw new MeshError('UPSTREAM_TIMEOUT', 'no pong');
        return 1;
      },
      offer: async (p: { callId: string }) => {
        offers.push(`${n.address} ${p.callId}`);
        return { sdp: 'v=0\r\n' };
      },
      close: async () => {},
      stats: () => ({ address: n.address, port: 2223, pending: 0, retransmits: 0, unmatchedReplies: 0, commands: [] }),
    }) as unknown as NgClientLike;
}

const remote = (id: string, region: string, extra: Partial<ServiceInstance> = {}): ServiceInstance => ({
  id,
  service: 'media',
  region,
  address: '127.0.2.11',
  port: 2223,
  capabilities: ['relay', 'play'],
  meta: { sessions: '3', drained: '0' },
  ...extra,
});

describe('startNodeDiscovery: what a signaling node registers', () => {
  let config: Config;
  let d: FakeDiscovery;
  let alive: Set<string>;
  let registry: MediaNodeRegistry;
  let nd: NodeDiscovery;
  beforeEach(async () => {
    vi.useFakeTimers();
    config = parseConfig({
      region: 'eu-west',
      nodeId: 'eu-sig-1',
      sip: { address: '127.0.2.1', transports: ['UDP'] },
      media: {
        healthIntervalMs: 100,
        nodes: [
          { id: 'eu-m1', address: '127.0.2.11', capabilities: ['relay', 'play'] },
          { id: 'eu-m2', address: '127.0.2.12', capabilities: ['record', 'bogus'] },
        ],
      },
      mesh: { linkDelaysMs: { 'us-east': 40 } },
      discovery: { loadUpdateMs: 1000, reconcileMs: 1000 },
    });
    d = new FakeDiscovery();
    alive = new Set(['127.0.2.11', '127.0.2.12']);
    registry = new MediaNodeRegistry({ nodes: config.media.nodes, healthIntervalMs: 100, createClient: fakeClients(alive, []) });
    await registry.start();
    nd = startNodeDiscovery({ config, nodeId: 'eu-sig-1', log: silentLogger, media: registry, activeCalls: () => 7, options: { discovery: d } });
    await vi.advanceTimersByTimeAsync(0);
  });
  afterEach(async () => {
    await nd.close();
    await registry.close();
    vi.useRealTimers();
  });

  it('registers itself and each healthy media node with region, address and capabilities', () => {
    expect(d.listed.get('eu-sig-1')).toEqual({
      id: 'eu-sig-1',
      service: 'signaling',
      region: 'eu-west',
      address: '127.0.2.1',
      port: 5060,
      capabilities: ['anchor', 'sip-udp'],
      meta: { transports: 'UDP', activeCalls: '7' },
    });
    expect(d.listed.get('eu-m1')).toMatchObject({ service: 'media', region: 'eu-west', address: '127.0.2.11', port: 2223, capabilities: ['relay', 'play'] });
    expect(d.listed.get('eu-m2')?.capabilities).toEqual(['relay', 'record', 'bogus']);
    expect(d.listed.get('eu-m2')?.meta).toEqual({ ngPort: '2223', sessions: '0', drained: '0', signalingNode: 'eu-sig-1' });
  });

  it('deregisters a media node whose ping fails, and registers it again when it answers', async () => {
    alive.delete('127.0.2.12');
    await vi.advanceTimersByTimeAsync(150);
    expect(d.listed.has('eu-m2')).toBe(false);
    expect(d.calls).toContain('deregister eu-m2');
    alive.add('127.0.2.12');
    await vi.advanceTimersByTimeAsync(150);
    expect(d.listed.has('eu-m2')).toBe(true);
  });

  it('re-announces a changed load on the next update, and a drained node as drained', async () => {
    registry.assign('call-1', 'eu-m1');
    registry.setDrained(['eu-m2']);
    await vi.advanceTimersByTimeAsync(1000);
    expect(d.listed.get('eu-m1')?.meta['sessions']).toBe('1');
    expect(d.listed.get('eu-m2')?.meta['drained']).toBe('1');
  });

  it('close() deregisters the node and its media nodes', async () => {
    await nd.close();
    expect(d.listed.size).toBe(0);
  });

  it('reports media nodes that leave the watched list (not those that only changed)', async () => {
    const gone: string[] = [];
    await nd.close();
    nd = startNodeDiscovery({ config, nodeId: 'eu-sig-1', log: silentLogger, media: registry, activeCalls: () => 0, onMediaRemoved: (id) => gone.push(id), options: { discovery: d } });
    await vi.advanceTimersByTimeAsync(0);
    d.listed.set('us-m1', remote('us-m1', 'us-east'));
    d.publish();
    d.listed.set('us-m1', remote('us-m1', 'us-east', { meta: { sessions: '4' } }));
    d.publish();
    expect(gone).toEqual([]);
    d.listed.delete('us-m1');
    d.publish();
    expect(gone).toEqual(['us-m1']);
    expect(nd.media.has('us-m1')).toBe(false);
  });
});
