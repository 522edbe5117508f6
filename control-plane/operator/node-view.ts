/**
 * The operator's list of nodes, from discovery (DESIGN.md "Failure is
 * normal"): a node is healthy when discovery lists it as healthy now. Nodes
 * seen to leave stay listed, unhealthy, for a while; nodes known only from a
 * signaling node's metrics report (a media node that never answered a ping)
 * are listed unhealthy too, so a dead node does not simply vanish from view.
 * Metrics reports add what discovery does not carry: ping times and errors.
 * A node that is not healthy is `dead`: its `load` is null (what it last
 * reported is kept apart as `lastLoad`), so no one reads a stale load as
 * current. The operator's drains (regions/store/drained-nodes.ts) are shown
 * on every node, alive or dead.
 */
import type { ServiceInstance } from '../../regions/discovery/types.js';
import type { MediaNodeView, NodeMetricsSnapshot } from '../../regions/store/schema.js';
import type { DrainedNode } from '../../regions/store/drained-nodes.js';
import type { NodeInfo, NodeKind } from './types.js';

export interface DiscoveredNode {
  kind: NodeKind;
  instance: ServiceInstance;
}

export interface DepartedNode extends DiscoveredNode {
  /** When discovery stopped listing it, ms since the epoch. */
  leftAt: number;
}

const iso = (ms: number | undefined): string | null => (ms === undefined ? null : new Date(ms).toISOString());

function numberOrNull(v: string | undefined): number | null {
  if (v === undefined) return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
}

/** The freshest report of each media node across all signaling nodes' snapshots. */
function latestMediaReports(snapshots: readonly NodeMetricsSnapshot[]): Map<string, { region: string; view: MediaNodeView }> {
  const out = new Map<string, { region: string; view: MediaNodeView }>();
  for (const s of snapshots) {
    for (const m of s.media ?? []) {
      const prev = out.get(m.id);
      if (prev === undefined || (m.lastPingAt ?? 0) > (prev.view.lastPingAt ?? 0)) out.set(m.id, { region: s.region, view: m });
    }
  }
  return out;
}

function fromInstance(n: DiscoveredNode, healthy: boolean, reports: { media: Map<string, { view: MediaNodeView }>; signaling: Map<string, NodeMetricsSnapshot> }): NodeInfo {
  const i = n.instance;
  const info: NodeInfo = {
    id: i.id,
    region: i.region,
    kind: n.kind,
    healthy,
    load: null,
    state: healthy ? 'serving' : 'dead',
    drained: false,
    drainedSince: null,
    lastPingAt: null,
    address: `${i.address}:${i.port}`,
    capabilities: [...i.capabilities],
    source: 'discovery',
    meta: { ...i.meta },
  };
  if (n.kind === 'media') {
    const r = reports.media.get(i.id)?.view;
    info.load = numberOrNull(i.meta['sessions']) ?? r?.load ?? null;
    info.lastPingAt = iso(r?.lastPingAt);
    info.lastPingRttMs = r?.lastPingRttMs ?? null;
    info.lastError = r?.lastError ?? null;
    if (r?.full !== undefined) info.full = r.full;
    if (r?.freePorts !== undefined) info.freePorts = r.freePorts;
  } else if (n.kind === 'signaling') {
    const r = reports.signaling.get(i.id);
    info.load = r?.activeCalls ?? numberOrNull(i.meta['activeCalls']);
    info.lastPingAt = iso(r?.at);
    if (r?.admission !== undefined) info.admission = r.admission;
  }
  return info;
}

/** A dead node's load is no load: keep what it last said apart, as `lastLoad`. */
function markDead(n: NodeInfo): NodeInfo {
  return { ...n, healthy: false, state: 'dead', lastLoad: n.load, load: null };
}

/** Every node: healthy ones from discovery, then departed ones, then those only metrics know; drains applied. */
export function nodesFromDiscovery(input: {
  healthy: readonly DiscoveredNode[];
  departed: readonly DepartedNode[];
  snapshots: readonly NodeMetricsSnapshot[];
  /** The operator's drained nodes. Default none. */
  drained?: readonly DrainedNode[];
}): NodeInfo[] {
  const drained = new Map((input.drained ?? []).map((d) => [d.nodeId, d.since]));
  const withDrain = (n: NodeInfo): NodeInfo => {
    if (!drained.has(n.id)) return n;
    return { ...n, drained: true, drainedSince: drained.get(n.id) ?? null, state: n.state === 'dead' ? 'dead' : 'drained' };
  };
  const media = latestMediaReports(input.snapshots);
  const signaling = new Map(input.snapshots.map((s) => [s.nodeId, s]));
  const reports = { media, signaling };
  const out = new Map<string, NodeInfo>();
  for (const n of input.healthy) if (!out.has(n.instance.id)) out.set(n.instance.id, fromInstance(n, true, reports));
  for (const d of input.departed) {
    if (out.has(d.instance.id)) continue;
    out.set(d.instance.id, { ...markDead(fromInstance(d, false, reports)), lastSeenAt: iso(d.leftAt) });
  }
  for (const s of input.snapshots) {
    if (!out.has(s.nodeId)) {
      out.set(s.nodeId, markDead({ id: s.nodeId, region: s.region, kind: 'signaling', healthy: false, load: s.activeCalls, state: 'dead', drained: false, drainedSince: null, lastPingAt: iso(s.at), source: 'metrics' }));
    }
  }
  for (const [id, { region, view: m }] of media) {
    if (out.has(id)) continue;
    out.set(id, markDead({
      id,
      region,
      kind: 'media',
      healthy: false,
      load: m.load,
      state: 'dead',
      drained: false,
      drainedSince: null,
      lastPingAt: iso(m.lastPingAt),
      lastPingRttMs: m.lastPingRttMs ?? null,
      address: `${m.address}:${m.ngPort}`,
      capabilities: [...m.capabilities],
      lastError: m.lastError ?? (m.healthy ? 'not registered in discovery' : null),
      source: 'metrics',
    }));
  }
  return [...out.values()].map(withDrain);
}

/** Nodes seen to leave discovery's healthy list, kept (bounded) for `maxAgeMs`. */
export class DepartedNodes {
  private readonly left = new Map<string, DepartedNode>();

  constructor(
    private readonly maxAgeMs = 10 * 60_000,
    private readonly maxNodes = 1000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Apply a watch change of one service: removed instances that are not listed again have left. */
  record(kind: NodeKind, change: { instances: readonly ServiceInstance[]; removed: readonly ServiceInstance[] }): void {
    const listed = new Set(change.instances.map((i) => i.id));
    for (const id of listed) this.left.delete(id);
    for (const r of change.removed) {
      if (listed.has(r.id)) continue;
      this.left.delete(r.id);
      this.left.set(r.id, { kind, instance: r, leftAt: this.now() });
    }
    // Oldest first (insertion order): drop beyond the bound.
    while (this.left.size > this.maxNodes) {
      const oldest = this.left.keys().next().value as string;
      this.left.delete(oldest);
    }
  }

  list(): DepartedNode[] {
    const cutoff = this.now() - this.maxAgeMs;
    for (const [id, d] of this.left) if (d.leftAt < cutoff) this.left.delete(id);
    return [...this.left.values()];
  }
}
