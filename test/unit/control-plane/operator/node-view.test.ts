import { describe, expect, it } from 'vitest';
import { DepartedNodes, nodesFromDiscovery } from '../../../../control-plane/operator/node-view.js';
import type { ServiceInstance } from '../../../../regions/discovery/types.js';
import type { NodeMetricsSnapshot } from '../../../../regions/store/schema.js';

const inst = (id: string, service: string, extra: Partial<ServiceInstance> = {}): ServiceInstance => ({
  id,
  service,
  region: 'us-east',
  address: '127.0.1.11',
  port: 2223,
  capabilities: ['relay'],
  meta: {},
  ...extra,
});

const snapshot = (over: Partial<NodeMetricsSnapshot> = {}): NodeMetricsSnapshot => ({
  nodeId: 'us-sig-1',
  region: 'us-east',
  at: 1_700_000_000_000,
  activeCalls: 4,
  callAttempts: 10,
  callFailures: {},
  ngLatency: {},
  webhook: { requests: 0, failures: 0, latencySumMs: 0 },
  placements: {},
  media: [
    { id: 'm1', address: '127.0.1.11', ngPort: 2223, capabilities: ['relay'], healthy: true, load: 2, breaker: 'closed', lastPingRttMs: 0.4, lastPingAt: 1_700_000_000_500, lastError: undefined },
    { id: 'm9', address: '127.0.1.19', ngPort: 2223, capabilities: ['relay'], healthy: false, load: 0, breaker: 'closed', lastPingRttMs: undefined, lastPingAt: 1_700_000_000_400, lastError: 'ng ping timed out' },
  ],
  ...over,
});

describe('nodesFromDiscovery', () => {
  it('marks discovery-listed nodes healthy and enriches them from metrics reports', () => {
    const nodes = nodesFromDiscovery({
      healthy: [
        { kind: 'signaling', instance: inst('us-sig-1', 'signaling', { address: '127.0.1.1', port: 5060, capabilities: ['anchor'] }) },
        { kind: 'media', instance: inst('m1', 'media', { meta: { sessions: '3' } }) },
        { kind: 'central-media', instance: inst('us-central', 'central-media', { capabilities: ['record'], port: 7000 }) },
      ],
      departed: [],
      snapshots: [snapshot()],
    });
    const byId = new Map(nodes.map((n) => [n.id, n]));
    expect(byId.get('us-sig-1')).toMatchObject({ kind: 'signaling', healthy: true, load: 4, address: '127.0.1.1:5060', source: 'discovery', lastPingAt: new Date(1_700_000_000_000).toISOString() });
    expect(byId.get('m1')).toMatchObject({ kind: 'media', healthy: true, load: 3, lastPingRttMs: 0.4, lastError: null, capabilities: ['relay'] });
    expect(byId.get('us-central')).toMatchObject({ kind: 'central-media', healthy: true, capabilities: ['record'], load: null });
    // Known only from a report: listed, but never healthy.
    expect(byId.get('m9')).toMatchObject({ kind: 'media', healthy: false, source: 'metrics', lastError: 'ng ping timed out' });
    expect(nodes).toHaveLength(4);
  });

  it('lists departed nodes as unhealthy with when they were last seen, unless listed again', () => {
    const nodes = nodesFromDiscovery({
      healthy: [{ kind: 'media', instance: inst('m2', 'media') }],
      departed: [
        { kind: 'media', instance: inst('m1', 'media'), leftAt: 1_700_000_001_000 },
        { kind: 'media', instance: inst('m2', 'media'), leftAt: 1_700_000_001_000 },
      ],
      snapshots: [],
    });
    expect(nodes.find((n) => n.id === 'm1')).toMatchObject({ healthy: false, source: 'discovery', lastSeenAt: new Date(1_700_000_001_000).toISOString() });
    expect(nodes.find((n) => n.id === 'm2')).toMatchObject({ healthy: true });
    expect(nodes).toHaveLength(2);
  });

  it('reports a signaling node whose registration is gone but whose metrics are fresh as unhealthy', () => {
    const nodes = nodesFromDiscovery({ healthy: [], departed: [], snapshots: [snapshot({ media: [] })] });
    expect(nodes).toEqual([
      { id: 'us-sig-1', region: 'us-east', kind: 'signaling', healthy: false, load: null, lastLoad: 4, state: 'dead', drained: false, drainedSince: null, lastPingAt: new Date(1_700_000_000_000).toISOString(), source: 'metrics' },
    ]);
  });

  it('shows a dead node as dead with no load (its last one apart), and drains on live and dead nodes', () => {
    const nodes = nodesFromDiscovery({
      healthy: [
        { kind: 'media', instance: inst('m2', 'media', { meta: { sessions: '5' } }) },
        { kind: 'media', instance: inst('m3', 'media', { meta: { sessions: '1' } }) },
      ],
      departed: [{ kind: 'media', instance: inst('m1', 'media', { meta: { sessions: '7' } }), leftAt: 1_700_000_001_000 }],
      snapshots: [],
      drained: [
        { nodeId: 'm1', since: '2026-01-01T00:00:00.000Z' },
        { nodeId: 'm2', since: '2026-01-02T00:00:00.000Z' },
      ],
    });
    const byId = new Map(nodes.map((n) => [n.id, n]));
    expect(byId.get('m1')).toMatchObject({ healthy: false, state: 'dead', load: null, lastLoad: 7, drained: true, drainedSince: '2026-01-01T00:00:00.000Z' });
    expect(byId.get('m2')).toMatchObject({ healthy: true, state: 'drained', load: 5, drained: true, drainedSince: '2026-01-02T00:00:00.000Z' });
    expect(byId.get('m3')).toMatchObject({ healthy: true, state: 'serving', load: 1, drained: false, drainedSince: null });
    expect(byId.get('m3')!.lastLoad).toBeUndefined();
  });
});

describe('DepartedNodes', () => {
  it('remembers removed instances, forgets returning ones, ages and bounds the rest', () => {
    let now = 0;
    const d = new DepartedNodes(1000, 2, () => now);
    d.record('media', { instances: [], removed: [inst('a', 'media')] });
    now = 10;
    d.record('media', { instances: [inst('b', 'media')], removed: [inst('b', 'media')] }); // changed, not gone
    expect(d.list().map((x) => x.instance.id)).toEqual(['a']);
    d.record('media', { instances: [], removed: [inst('c', 'media'), inst('e', 'media')] });
    expect(d.list().map((x) => x.instance.id)).toEqual(['c', 'e']);
    d.record('media', { instances: [inst('c', 'media')], removed: [] });
    expect(d.list().map((x) => x.instance.id)).toEqual(['e']);
    now = 2000;
    expect(d.list()).toEqual([]);
  });
});
