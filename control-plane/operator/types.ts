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
  /** Sessions (media) or active calls (signaling); null when unknown. */
  load: number | null;
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

/** Failover drills on the local mesh (the lead implements it). Throw MeshError('NOT_FOUND') for an unknown node. */
export interface DrillExecutor {
  drain(nodeId: string): Promise<void>;
  kill(nodeId: string): Promise<void>;
}

const iso = (ms: number | undefined): string | null => (ms === undefined ? null : new Date(ms).toISOString());

/** A media node as the registry sees it. */
export function nodeInfoFromMedia(region: string, s: MediaNodeSnapshot): NodeInfo {
  return {
    id: s.id,
    region,
    kind: 'media',
    healthy: s.healthy,
    load: s.load,
    lastPingAt: iso(s.lastPingAt),
    lastPingRttMs: s.lastPingRttMs ?? null,
    address: `${s.address}:${s.ngPort}`,
    capabilities: [...s.capabilities],
    lastError: s.lastError ?? null,
  };
}

/** A signaling node from its metrics snapshot: healthy while it reports within `staleMs`. */
export function nodeInfoFromMetrics(s: NodeMetricsSnapshot, now = Date.now(), staleMs = 15_000): NodeInfo {
  return {
    id: s.nodeId,
    region: s.region,
    kind: 'signaling',
    healthy: now - s.at <= staleMs,
    load: s.activeCalls,
    lastPingAt: iso(s.at),
  };
}
