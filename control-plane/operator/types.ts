/**
 * What the operator API is given by the process that mounts it: the region
 * catalog, a view of the nodes, and the drill executor of the local mesh.
 */
import type { MediaNodeSnapshot } from '../../media/nodes/registry.js';
import type { AdmissionMetrics, NodeMetricsSnapshot } from '../../regions/store/schema.js';

export interface RegionInfo {
  id: string;
  name?: string;
  sipAddress?: string;
  sipPort?: number;
  /** Address block of the region, e.g. 127.0.1.0/24. */
  addresses?: string;
  /** The catalog's central media service of the region: where it listens and what it serves. */
  centralMedia?: { address: string; port: number; services: string[] };
  /** The catalog's one-way delay from this region to each other region, ms. */
  linkDelaysMs?: Record<string, number>;
}

export type NodeKind = 'signaling' | 'media' | 'central-media';

export interface NodeInfo {
  id: string;
  region: string;
  kind: NodeKind;
  /** In discovery's healthy list now (a node known only from metrics is never healthy). */
  healthy: boolean;
  /** Sessions (media) or active calls (signaling) of a live node; null when unknown or dead. */
  load: number | null;
  /** `dead` when not healthy; `drained` when alive and drained by an operator; else `serving`. */
  state: 'serving' | 'drained' | 'dead';
  /** Drained by an operator (regions/store/drained-nodes.ts); until undrained. */
  drained: boolean;
  drainedSince: string | null;
  /** A dead node: the last load it reported (stale, for the record). */
  lastLoad?: number | null;
  /** ISO 8601 time of the last health ping (media) or metrics report (signaling). */
  lastPingAt: string | null;
  lastPingRttMs?: number | null;
  address?: string;
  capabilities?: string[];
  lastError?: string | null;
  /** Where `healthy` comes from: `discovery` (listed now, or seen to leave) or `metrics` (a node's report only). */
  source?: 'discovery' | 'metrics';
  /** ISO 8601 time discovery last listed the node; set for nodes that left the healthy list. */
  lastSeenAt?: string | null;
  /** The attributes the node registered with (ng port, sessions, drained, ...). */
  meta?: Record<string, string>;
  /** Media: takes no new calls for lack of RTP ports (reported "Ran out of ports", or estimated free ports below one call's). */
  full?: boolean;
  /** Media: estimated free RTP ports (range minus the ports of the calls placed there). */
  freePorts?: number;
  /** Signaling: admission control's limits, readings and refusals (as on /metrics). */
  admission?: AdmissionMetrics;
}

/** What a kill drill did. */
export interface KillOutcome {
  /** The process that got the signal. */
  pid: number;
  signal: 'SIGKILL';
  /** Its name in the local mesh's process table, e.g. `us-east-sig-1#1`. */
  process: string;
}

/**
 * Kill drills on the local mesh (infra/control-plane.ts: the launcher's process table).
 * Throw MeshError('NOT_FOUND') for a node that is no process of it. Drain and undrain
 * are operator state in Redis (regions/store/drained-nodes.ts), not executor work.
 */
export interface DrillExecutor {
  kill(nodeId: string): Promise<KillOutcome>;
}

const iso = (ms: number | undefined): string | null => (ms === undefined ? null : new Date(ms).toISOString());

/** A media node as the registry sees it. */
export function nodeInfoFromMedia(region: string, s: MediaNodeSnapshot): NodeInfo {
  return {
    id: s.id,
    region,
    kind: 'media',
    healthy: s.healthy,
    load: s.healthy ? s.load : null,
    state: s.healthy ? 'serving' : 'dead',
    drained: false,
    drainedSince: null,
    ...(s.healthy ? {} : { lastLoad: s.load }),
    lastPingAt: iso(s.lastPingAt),
    lastPingRttMs: s.lastPingRttMs ?? null,
    address: `${s.address}:${s.ngPort}`,
    capabilities: [...s.capabilities],
    lastError: s.lastError ?? null,
  };
}

/** A signaling node from its metrics snapshot: healthy while it reports within `staleMs`. */
export function nodeInfoFromMetrics(s: NodeMetricsSnapshot, now = Date.now(), staleMs = 15_000): NodeInfo {
  const healthy = now - s.at <= staleMs;
  return {
    id: s.nodeId,
    region: s.region,
    kind: 'signaling',
    healthy,
    load: healthy ? s.activeCalls : null,
    state: healthy ? 'serving' : 'dead',
    drained: false,
    drainedSince: null,
    ...(healthy ? {} : { lastLoad: s.activeCalls }),
    lastPingAt: iso(s.at),
  };
}
