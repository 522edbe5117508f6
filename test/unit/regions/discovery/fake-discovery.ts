/** An in-memory Discovery for unit tests of its users: reachability switchable, watches fed by the test. */
import { MeshError } from '../../../../regions/core/errors.js';
import { SnapshotDiff, matchesQuery } from '../../../../regions/discovery/snapshot.js';
import type { Discovery, DiscoveryQuery, Registration, ServiceInstance, WatchCallback } from '../../../../regions/discovery/types.js';

/** An in-memory discovery whose reachability the test switches. */
export class FakeDiscovery implements Discovery {
  up = true;
  /** Registered (healthy) instances by id. */
  readonly listed = new Map<string, ServiceInstance>();
  readonly calls: string[] = [];
  readonly registerAt: number[] = [];
  /** When set, register() waits for this before answering. */
  gate: Promise<void> | undefined;

  async register(instance: ServiceInstance): Promise<Registration> {
    this.calls.push(`register ${instance.id} ${instance.meta['v'] ?? ''}`.trim());
    this.registerAt.push(Date.now());
    if (this.gate !== undefined) await this.gate;
    if (!this.up) throw new MeshError('SERVICE_UNAVAILABLE', 'down');
    this.listed.set(instance.id, instance);
    let closed = false;
    return {
      instance,
      failedHeartbeats: 0,
      stopHeartbeats: () => {},
      close: async () => {
        if (closed) return;
        closed = true;
        await this.deregister(instance.id);
      },
    };
  }

  async deregister(id: string): Promise<void> {
    this.calls.push(`deregister ${id}`);
    if (!this.up) throw new MeshError('SERVICE_UNAVAILABLE', 'down');
    this.listed.delete(id);
  }

  async list(q: DiscoveryQuery): Promise<ServiceInstance[]> {
    if (!this.up) throw new MeshError('SERVICE_UNAVAILABLE', 'down');
    return [...this.listed.values()].filter((i) => i.service === q.service && (q.region === undefined || i.region === q.region));
  }

  private readonly watchers = new Set<{ q: DiscoveryQuery; cb: WatchCallback; diff: SnapshotDiff }>();

  /** Watches see the listed set when the test calls this (a real adapter would on its own). */
  publish(): void {
    for (const w of this.watchers) {
      const change = w.diff.next([...this.listed.values()].filter((i) => matchesQuery(i, w.q)).sort((a, b) => (a.id < b.id ? -1 : 1)));
      if (change !== undefined) w.cb(change);
    }
  }

  watch(q: DiscoveryQuery, cb: WatchCallback): () => void {
    const w = { q, cb, diff: new SnapshotDiff() };
    this.watchers.add(w);
    return () => this.watchers.delete(w);
  }

  async close(): Promise<void> {}
}

