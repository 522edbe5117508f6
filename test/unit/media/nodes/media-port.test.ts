import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { choosePlacement, placementNodesFromCatalog } from '../../../../control-plane/placement/index.js';
import { DiscoveredMediaNodes, healthFromDiscovery } from '../../../../media/nodes/discovered.js';
import { isPortExhaustion, RegistryMediaPort } from '../../../../media/nodes/media-port.js';
import { MediaNodeRegistry } from '../../../../media/nodes/registry.js';
import type { NgClientLike } from '../../../../media/ng/client.js';
import { loadRegionCatalog } from '../../../../regions/catalog.js';
import { MeshError } from '../../../../regions/core/errors.js';
import type { ServiceInstance } from '../../../../regions/discovery/types.js';
import type { MediaPort } from '../../../../signaling/b2bua/media-port.js';

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

describe('RegistryMediaPort with discovered nodes', () => {
  let registry: MediaNodeRegistry;
  let offers: string[];
  let alive: Set<string>;
  let listed: Map<string, ServiceInstance>;
  let port: RegistryMediaPort;
  beforeEach(async () => {
    offers = [];
    alive = new Set(['127.0.1.11']);
    registry = new MediaNodeRegistry({ region: 'us-east', nodes: [{ id: 'us-m1', address: '127.0.1.11', ngPort: 2223, capabilities: ['relay'] }], healthIntervalMs: 60_000, createClient: fakeClients(alive, offers) });
    await registry.start();
    listed = new Map([['eu-m1', remote('eu-m1', 'eu-west')], ['ap-m1', remote('ap-m1', 'ap-south', { address: '127.0.3.11' })]]);
    const source = { instances: () => [...listed.values()], get: (id: string) => listed.get(id) };
    const discovered = new DiscoveredMediaNodes(source, { createClient: (i) => fakeClients(new Set([i.address]), offers)(i) });
    port = new RegistryMediaPort(registry, { region: 'us-east', choosePlacement, discovered, linkDelaysMs: { 'eu-west': 40, 'ap-south': 110 } });
  });
  afterEach(async () => {
    await registry.close();
  });

  it('fits the B2BUA media port (compile-time check)', () => {
    const asPort: MediaPort = port;
    expect(asPort.isHealthy('us-m1')).toBe(true);
  });

  it('places locally while a local node is healthy, with the remote ones in the input', () => {
    const nodes = port.placementNodes();
    expect(nodes.map((n) => `${n.id}@${n.region}:${n.healthy}`)).toEqual(['us-m1@us-east:true', 'eu-m1@eu-west:true', 'ap-m1@ap-south:true']);
    expect(port.acquire('c1').nodeId).toBe('us-m1');
    expect(port.placements).toEqual({ local: 1 });
  });

  it('routes media through the nearest discovered node when no local one is healthy, and uses its ng endpoint', async () => {
    alive.clear();
    await registry.checkAll();
    expect(port.acquire('c2').nodeId).toBe('eu-m1');
    expect(port.placements).toEqual({ remote: 1 });
    expect(port.isHealthy('eu-m1')).toBe(true);
    await port.offer('eu-m1', 'c2', 'tag', 'v=0\r\n');
    expect(offers).toEqual(['127.0.2.11 c2']);
    // The node leaves discovery: no longer healthy, and re-anchoring picks the next one.
    listed.delete('eu-m1');
    expect(port.isHealthy('eu-m1')).toBe(false);
    expect(port.reacquire('c2', 'eu-m1').nodeId).toBe('ap-m1');
  });

  it('skips a discovered node its owner marked drained, and says unavailable when nothing is left', async () => {
    alive.clear();
    await registry.checkAll();
    listed.set('eu-m1', remote('eu-m1', 'eu-west', { meta: { drained: '1' } }));
    listed.delete('ap-m1');
    expect(() => port.acquire('c3')).toThrow(/no healthy media node/);
  });

  it('places media that is in another region (an edge) by its needs: a node with the capability there, else the nearest region with one', () => {
    const matrix = { 'us-east': { 'eu-west': 40, 'ap-south': 110 }, 'eu-west': { 'us-east': 40, 'ap-south': 60 }, 'ap-south': { 'us-east': 110, 'eu-west': 60 } };
    const decisions: { callId: string; outcome: string; mediaRegion: string; capability: string }[] = [];
    const edgeAware = new RegistryMediaPort(registry, {
      region: 'us-east',
      choosePlacement,
      discovered: new DiscoveredMediaNodes({ instances: () => [...listed.values()], get: (id: string) => listed.get(id) }, { createClient: (i) => fakeClients(new Set([i.address]), offers)(i) }),
      linkDelaysMs: matrix['us-east'],
      linkMatrixMs: matrix,
      onDecision: (callId, m) => decisions.push({ callId, outcome: m.decision.outcome, mediaRegion: m.input.mediaRegion, capability: m.input.capability }),
    });
    // Media in ap-south, whose node plays: there.
    expect(edgeAware.acquire('e1', { mediaRegion: 'ap-south', capability: 'play' }).nodeId).toBe('ap-m1');
    // ap-south's node only relays: play is nearest in eu-west (60 ms from ap-south), not here (us-m1 lacks play anyway).
    listed.set('ap-m1', remote('ap-m1', 'ap-south', { address: '127.0.3.11', capabilities: ['relay'] }));
    expect(edgeAware.acquire('e2', { mediaRegion: 'ap-south', capability: 'play' }).nodeId).toBe('eu-m1');
    expect(decisions).toEqual([
      { callId: 'e1', outcome: 'local', mediaRegion: 'ap-south', capability: 'play' },
      { callId: 'e2', outcome: 'remote', mediaRegion: 'ap-south', capability: 'play' },
    ]);
    // Nobody plays any more: unavailable, and the message names the capability and the media's region.
    listed.delete('eu-m1');
    expect(() => edgeAware.acquire('e3', { mediaRegion: 'ap-south', capability: 'play' })).toThrow(/no healthy media node with play for media in region ap-south/);
  });
});

describe('healthFromDiscovery', () => {
  it('gives catalog nodes the health discovery lists, unlisted ones none (unhealthy)', () => {
    const catalog = loadRegionCatalog();
    const [first, second] = catalog.mediaNodes('eu-west');
    const listed = new Map([[first!.id as string, remote(first!.id, 'eu-west', { meta: { sessions: '5', drained: '0' } })]]);
    const nodes = placementNodesFromCatalog(catalog, healthFromDiscovery({ get: (id) => listed.get(id) }));
    expect(nodes.find((n) => n.id === first!.id)).toMatchObject({ healthy: true, sessions: 5 });
    expect(nodes.find((n) => n.id === second!.id)?.healthy).toBe(false);
  });
});

describe('RegistryMediaPort and port exhaustion', () => {
  it('marks a node that answers "Ran out of ports" full, so placement skips it while it stays healthy', async () => {
    const exhausted = new Set(['127.0.1.11']);
    const registry = new MediaNodeRegistry({
      region: 'us-east',
      nodes: [
        { id: 'm1', address: '127.0.1.11', ngPort: 2223 },
        { id: 'm2', address: '127.0.1.12', ngPort: 2223 },
      ],
      healthIntervalMs: 60_000,
      createClient: (n) =>
        ({
          probe: async () => 1,
          offer: async () => {
            if (exhausted.has(n.address)) throw new MeshError('BAD_GATEWAY', 'rtpengine offer failed: Ran out of ports', { detail: { errorReason: 'Ran out of ports' } });
            return { sdp: 'v=0\r\n' };
          },
          close: async () => {},
        }) as unknown as NgClientLike,
    });
    await registry.start();
    const port = new RegistryMediaPort(registry, { region: 'us-east', choosePlacement });
    expect(port.acquire('c1').nodeId).toBe('m1');
    const err = await port.offer('m1', 'c1', 'ft', 'v=0\r\n').catch((e: unknown) => e);
    expect(isPortExhaustion(err)).toBe(true);
    expect(registry.isFull('m1')).toBe(true);
    expect(port.isHealthy('m1')).toBe(true);
    expect(port.placementNodes().find((n) => n.id === 'm1')?.healthy).toBe(false);
    expect(port.reacquire('c1', ['m1']).nodeId).toBe('m2');
    expect(port.acquire('c2').nodeId).toBe('m2');
    await registry.close();
  });

  it('tells port exhaustion from other ng failures', () => {
    expect(isPortExhaustion(new MeshError('BAD_GATEWAY', 'x', { detail: { errorReason: 'Ran out of ports' } }))).toBe(true);
    expect(isPortExhaustion(new MeshError('BAD_GATEWAY', 'rtpengine offer failed: Failed to parse SDP', { detail: { errorReason: 'Failed to parse SDP' } }))).toBe(false);
    expect(isPortExhaustion(new MeshError('UPSTREAM_TIMEOUT', 'Ran out of ports'))).toBe(false);
    expect(isPortExhaustion(new Error('Ran out of ports'))).toBe(false);
  });
});
