/** Query matching and change detection shared by the discovery adapters. */
import type { DiscoveryChange, DiscoveryQuery, ServiceInstance } from './types.js';
import { isPrototypeMemberName } from '../core/ids.js';

export function matchesQuery(i: ServiceInstance, q: DiscoveryQuery): boolean {
  return (
    i.service === q.service &&
    (q.region === undefined || i.region === q.region) &&
    (q.capability === undefined || i.capabilities.includes(q.capability))
  );
}

export function sortById(list: ServiceInstance[]): ServiceInstance[] {
  return list.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** Stable fingerprint of an instance, so a changed address, capability or meta value counts as a change. */
export function instanceFingerprint(i: ServiceInstance): string {
  const meta = Object.keys(i.meta)
    .sort()
    .map((k) => [k, i.meta[k]]);
  return JSON.stringify([i.id, i.service, i.region, i.address, i.port, [...i.capabilities].sort(), meta]);
}

/**
 * Remembers the last set a watcher saw and reports differences. A changed
 * instance is reported as removed (old) + added (new).
 */
export class SnapshotDiff {
  private last: Map<string, { inst: ServiceInstance; fp: string }> | undefined;

  /** The change from the previous snapshot, or undefined if nothing changed (the first call always reports). */
  next(current: ServiceInstance[]): DiscoveryChange | undefined {
    const now = new Map(current.map((i) => [i.id, { inst: i, fp: instanceFingerprint(i) }]));
    const prev = this.last;
    this.last = now;
    if (prev === undefined) return { instances: current, added: current, removed: [] };
    const added: ServiceInstance[] = [];
    const removed: ServiceInstance[] = [];
    for (const [id, n] of now) {
      const p = prev.get(id);
      if (p === undefined) added.push(n.inst);
      else if (p.fp !== n.fp) {
        removed.push(p.inst);
        added.push(n.inst);
      }
    }
    for (const [id, p] of prev) if (!now.has(id)) removed.push(p.inst);
    if (added.length === 0 && removed.length === 0) return undefined;
    return { instances: current, added, removed };
  }
}

/** Reject instances that would not survive a round trip through either backend. */
export function validateInstance(i: ServiceInstance): string | undefined {
  if (!/^[A-Za-z0-9_.:-]{1,128}$/.test(i.id)) return `id "${i.id}" must be 1-128 of [A-Za-z0-9_.:-]`;
  if (!/^[a-z0-9-]{1,64}$/.test(i.service)) return `service "${i.service}" must be 1-64 of [a-z0-9-]`;
  if (!/^[a-z0-9-]{1,64}$/.test(i.region)) return `region "${i.region}" must be 1-64 of [a-z0-9-]`;
  for (const [what, v] of [['id', i.id], ['service', i.service], ['region', i.region]] as const) {
    if (isPrototypeMemberName(v)) return `${what} "${v}" is a reserved name (an Object.prototype member)`;
  }
  if (!Number.isInteger(i.port) || i.port < 0 || i.port > 65535) return `port ${i.port} out of range`;
  if (i.capabilities.length > 64) return 'more than 64 capabilities';
  if (Object.keys(i.meta).length > 32) return 'more than 32 meta keys';
  for (const k of Object.keys(i.meta)) if (!/^[A-Za-z0-9_-]{1,64}$/.test(k)) return `meta key "${k}" must be 1-64 of [A-Za-z0-9_-]`;
  return undefined;
}
