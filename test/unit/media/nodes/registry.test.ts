import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { NgClientLike } from '../../../../media/ng/client.js';
import { MediaNodeRegistry, type MediaHealthChange, type MediaNodeConfig } from '../../../../media/nodes/registry.js';
import { MeshError } from '../../../../regions/core/errors.js';

/** A fake ng client whose ping outcome the test sets; only probe/close are used by the registry. */
class FakeClient {
  alive = true;
  /** Simulate a dead rtpengine: the probe waits its whole timeout, then fails. */
  probe(timeoutMs = 400): Promise<number> {
    if (this.alive) return Promise.resolve(1.5);
    return new Promise((_, reject) => setTimeout(() => reject(new MeshError('UPSTREAM_TIMEOUT', 'no pong')), timeoutMs));
  }
  closed = 0;
  close(): Promise<void> {
    this.closed += 1;
    return Promise.resolve();
  }
}

const NODES: MediaNodeConfig[] = [
  { id: 'm-b', address: '127.0.8.12', ngPort: 2223, capabilities: ['record'] },
  { id: 'm-a', address: '127.0.8.11', ngPort: 2223 },
];

function makeRegistry(extra: { onListenerError?: (e: unknown) => void } = {}) {
  const clients = new Map<string, FakeClient>();
  const registry = new MediaNodeRegistry({
    region: 'test-region',
    nodes: NODES,
    createClient: (n) => {
      const c = new FakeClient();
      clients.set(n.id, c);
      return c as unknown as NgClientLike;
    },
    ...extra,
  });
  const client = (id: string): FakeClient => clients.get(id) as FakeClient;
  return { registry, client };
}

async function expectUnavailable(fn: () => unknown): Promise<MeshError> {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(MeshError);
    expect((e as MeshError).code).toBe('SERVICE_UNAVAILABLE');
    return e as MeshError;
  }
  throw new Error('expected SERVICE_UNAVAILABLE');
}

describe('MediaNodeRegistry', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('has no usable node before the first ping round', async () => {
    const { registry } = makeRegistry();
    const e = await expectUnavailable(() => registry.chooseNode());
    expect(e.message).toContain('no healthy media node in region test-region');
    expect(e.retryAfter).toBe(5);
    await registry.close();
  });

  it('chooses the least-loaded healthy node, ties broken by id', async () => {
    const { registry } = makeRegistry();
    await registry.start();
    expect(registry.chooseNode().id).toBe('m-a');
    expect(registry.acquire('call-1').id).toBe('m-a');
    expect(registry.acquire('call-2').id).toBe('m-b');
    expect(registry.acquire('call-3').id).toBe('m-a');
    expect(registry.acquire('call-1').id).toBe('m-a'); // idempotent per call
    expect(registry.snapshot().map((s) => [s.id, s.load])).toEqual([['m-b', 1], ['m-a', 2]]);
    expect(registry.nodeFor('call-2')?.id).toBe('m-b');
    expect(registry.callsOn('m-a').sort()).toEqual(['call-1', 'call-3']);
    expect(registry.release('call-1')).toBe(true);
    expect(registry.release('call-1')).toBe(false);
    expect(registry.nodeFor('call-1')).toBeUndefined();
    expect(registry.chooseNode().id).toBe('m-a'); // 1 vs 1 → id order
    await registry.close();
  });

  it('filters by capability and exclusion', async () => {
    const { registry } = makeRegistry();
    await registry.start();
    expect(registry.chooseNode({ capability: 'record' }).id).toBe('m-b');
    expect(registry.chooseNode({ exclude: ['m-a'] }).id).toBe('m-b');
    await expectUnavailable(() => registry.chooseNode({ capability: 'transcode' }));
    await registry.close();
  });

  it('marks a node unhealthy after one failed ping and avoids it, then recovers', async () => {
    const { registry, client } = makeRegistry();
    const changes: MediaHealthChange[] = [];
    registry.on('health', (c) => changes.push(c));
    await registry.start();
    expect(changes.map((c) => [c.nodeId, c.healthy])).toEqual([['m-b', true], ['m-a', true]]);
    client('m-a').alive = false;
    // Next round at 500 ms, its ping times out at 900 ms.
    await vi.advanceTimersByTimeAsync(950);
    expect(registry.isHealthy('m-a')).toBe(false);
    expect(changes.at(-1)).toMatchObject({ nodeId: 'm-a', healthy: false, reason: 'no pong' });
    expect(registry.chooseNode().id).toBe('m-b');
    expect(registry.snapshot().find((s) => s.id === 'm-a')?.lastError).toBe('no pong');
    client('m-b').alive = false;
    await vi.advanceTimersByTimeAsync(1000);
    await expectUnavailable(() => registry.acquire('call-x'));
    client('m-a').alive = true;
    await vi.advanceTimersByTimeAsync(600);
    expect(registry.chooseNode().id).toBe('m-a');
    expect(changes.at(-1)).toMatchObject({ nodeId: 'm-a', healthy: true, reason: undefined });
    await registry.close();
  });

  it('does not stack pings on a node whose ping is still pending', async () => {
    const dead = new FakeClient();
    dead.alive = false;
    const spy = vi.spyOn(dead, 'probe');
    // Ping timeout longer than the interval: rounds must skip the in-flight node.
    const slow = new MediaNodeRegistry({ nodes: [NODES[1] as MediaNodeConfig], healthIntervalMs: 100, pingTimeoutMs: 1000,
      createClient: () => dead as unknown as NgClientLike });
    void slow.start();
    await vi.advanceTimersByTimeAsync(950);
    expect(spy).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(150);
    expect(spy).toHaveBeenCalledTimes(2);
    await slow.close();
  });

  it('a throwing health listener neither crashes the registry nor starves other listeners', async () => {
    const reported: unknown[] = [];
    const { registry } = makeRegistry({ onListenerError: (e) => reported.push(e) });
    const seen: string[] = [];
    registry.on('health', () => {
      throw new Error('listener bug');
    });
    const off = registry.on('health', (c) => seen.push(c.nodeId));
    await registry.start();
    expect(seen.sort()).toEqual(['m-a', 'm-b']);
    expect(reported).toHaveLength(2);
    off();
    expect(registry.chooseNode().id).toBe('m-a');
    await registry.close();
  });

  it('start() and close() are idempotent; close closes every client once and stops pinging', async () => {
    const { registry, client } = makeRegistry();
    const s1 = registry.start();
    expect(registry.start()).toBe(s1);
    await s1;
    const spy = vi.spyOn(client('m-a'), 'probe');
    const c1 = registry.close();
    expect(registry.close()).toBe(c1);
    await c1;
    expect(client('m-a').closed).toBe(1);
    expect(client('m-b').closed).toBe(1);
    await vi.advanceTimersByTimeAsync(2000);
    expect(spy).not.toHaveBeenCalled();
    expect(() => registry.chooseNode()).toThrow(expect.objectContaining({ code: 'CLOSED' }) as unknown as Error);
  });

  it('bounds the number of allocated sessions', async () => {
    const registry = new MediaNodeRegistry({
      nodes: [NODES[1] as MediaNodeConfig], maxSessions: 2,
      createClient: () => new FakeClient() as unknown as NgClientLike,
    });
    await registry.start();
    registry.acquire('a');
    registry.acquire('b');
    const e = await expectUnavailable(() => registry.acquire('c'));
    expect(e.message).toContain('session limit 2');
    await registry.close();
  });

  it('rejects duplicate node ids in configuration', () => {
    expect(() => new MediaNodeRegistry({ nodes: [NODES[0] as MediaNodeConfig, NODES[0] as MediaNodeConfig],
      createClient: () => new FakeClient() as unknown as NgClientLike })).toThrow(/configured twice/);
  });
});

describe('MediaNodeRegistry: full nodes and free ports', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  function portRegistry(ports: { a: [number, number]; b: [number, number] }) {
    let now = 1_000_000;
    const registry = new MediaNodeRegistry({
      nodes: [
        { id: 'm-a', address: '127.0.8.11', ngPort: 2223, rtpPortMin: ports.a[0], rtpPortMax: ports.a[1] },
        { id: 'm-b', address: '127.0.8.12', ngPort: 2223, rtpPortMin: ports.b[0], rtpPortMax: ports.b[1] },
      ],
      fullForMs: 5000,
      now: () => now,
      createClient: () => new FakeClient() as unknown as NgClientLike,
    });
    return { registry, advance: (ms: number) => (now += ms) };
  }

  it('a node marked full takes no new calls for fullForMs but stays healthy for the calls it has', async () => {
    const { registry, advance } = portRegistry({ a: [40000, 40999], b: [41000, 41999] });
    await registry.start();
    expect(registry.acquire('c1').id).toBe('m-a');
    expect(registry.markFull('m-a')).toBe(true);
    expect(registry.markFull('nope')).toBe(false);
    expect(registry.isFull('m-a')).toBe(true);
    expect(registry.isHealthy('m-a')).toBe(true); // its calls are not re-anchored
    expect(registry.acquire('c2').id).toBe('m-b');
    expect(registry.acquire('c3').id).toBe('m-b'); // m-a has less load but is full
    expect(registry.snapshot().find((n) => n.id === 'm-a')).toMatchObject({ full: true, healthy: true, portCapacity: 1000, freePorts: 996 });
    advance(5000);
    expect(registry.isFull('m-a')).toBe(false);
    expect(registry.acquire('c4').id).toBe('m-a');
    await registry.close();
  });

  it('estimates free ports from the sessions placed (4 per call) and treats a node without room for a call as full', async () => {
    const { registry } = portRegistry({ a: [40000, 40007], b: [41000, 41999] }); // m-a: room for 2 calls
    await registry.start();
    expect(registry.freePorts()).toBe(8 + 1000);
    expect(registry.acquire('c1').id).toBe('m-a');
    expect(registry.acquire('c2').id).toBe('m-b');
    expect(registry.acquire('c3').id).toBe('m-a');
    expect(registry.isFull('m-a')).toBe(true); // 0 free ports
    expect(registry.freePorts()).toBe(996); // full nodes do not count
    expect(registry.acquire('c4').id).toBe('m-b');
    registry.release('c1');
    expect(registry.isFull('m-a')).toBe(false);
    expect(registry.freePorts()).toBe(4 + 992);
    await registry.close();
  });

  it('knows no free ports without a configured port range', async () => {
    const { registry } = makeRegistry();
    await registry.start();
    expect(registry.freePorts()).toBeUndefined();
    expect(registry.snapshot()[0]).toMatchObject({ full: false });
    expect(registry.snapshot()[0]?.freePorts).toBeUndefined();
    await registry.close();
  });
});
