/**
 * Media nodes this signaling node knows only from discovery: other regions'
 * rtpengines (and any of its own region that another signaling node
 * health-checks). They enter placement as discovery lists them, and when
 * placement routes a call's media through one, an ng client to it is opened
 * on demand and kept while calls use it.
 */
import { MEDIA_CAPABILITIES, type MediaCapability } from '../../regions/catalog.js';
import { CircuitBreaker } from '../../regions/core/circuit-breaker.js';
import { MeshError } from '../../regions/core/errors.js';
import { asNodeId, asRegionId } from '../../regions/core/ids.js';
import type { ServiceInstance } from '../../regions/discovery/types.js';
import type { PlacementNode } from '../../regions/placement/types.js';
import { RtpengineMediaEngine, type MediaEngine } from '../engine/index.js';
import { NgClient, type NgClientLike } from '../ng/client.js';

const KNOWN: ReadonlySet<string> = new Set(MEDIA_CAPABILITIES);

/**
 * A discovered media instance as the placement policy takes it: healthy (it is
 * in discovery's healthy list) unless its owner marked it drained; capabilities
 * the policy does not know are left out rather than failing every decision.
 */
export function placementNodeFromInstance(i: ServiceInstance, extraSessions = 0): PlacementNode {
  const caps = [...new Set(i.capabilities.filter((c) => KNOWN.has(c)))] as MediaCapability[];
  const reported = Number(i.meta['sessions']);
  const node: { -readonly [K in keyof PlacementNode]: PlacementNode[K] } = {
    id: asNodeId(i.id),
    region: asRegionId(i.region),
    capabilities: caps,
    healthy: i.meta['drained'] !== '1',
  };
  if (Number.isFinite(reported) && reported >= 0) node.sessions = reported + extraSessions;
  else if (extraSessions > 0) node.sessions = extraSessions;
  return node;
}

/**
 * Health of catalog nodes as discovery reports it, for `placementNodesFromCatalog`:
 * listed and not drained → healthy with its reported sessions; not listed → undefined (unhealthy).
 */
export function healthFromDiscovery(source: Pick<DiscoveredMediaSource, 'get'>): (nodeId: string) => { healthy: boolean; sessions?: number } | undefined {
  return (nodeId) => {
    const i = source.get(nodeId);
    if (i === undefined) return undefined;
    const sessions = Number(i.meta['sessions']);
    return { healthy: i.meta['drained'] !== '1', ...(Number.isFinite(sessions) && sessions >= 0 ? { sessions } : {}) };
  };
}

/** Where the healthy discovered media nodes come from (a DiscoveryView). */
export interface DiscoveredMediaSource {
  instances(): readonly ServiceInstance[];
  get(id: string): ServiceInstance | undefined;
}

interface Remote {
  client: NgClientLike;
  engine: MediaEngine;
  calls: number;
  /** Closes the client a while after its last call (a late delete may still need it). */
  idle: NodeJS.Timeout | undefined;
}

export interface DiscoveredMediaOptions {
  /** Timeout of ng commands to discovered nodes. Default 1000 ms. */
  ngTimeoutMs?: number;
  /** Most discovered nodes with an open ng client at once. Default 256. */
  maxClients?: number;
  /** An ng client without calls is closed after this long. Default 30000 ms. */
  idleCloseMs?: number;
  /** Client factory, for unit tests. Default: a real NgClient with its own breaker. */
  createClient?: (i: ServiceInstance) => NgClientLike;
}

export class DiscoveredMediaNodes {
  private readonly remotes = new Map<string, Remote>();
  private readonly allocations = new Map<string, string>();
  private readonly createClient: (i: ServiceInstance) => NgClientLike;
  private readonly maxClients: number;
  private readonly idleCloseMs: number;

  constructor(
    readonly source: DiscoveredMediaSource,
    opts: DiscoveredMediaOptions = {},
  ) {
    this.maxClients = opts.maxClients ?? 256;
    this.idleCloseMs = opts.idleCloseMs ?? 30_000;
    this.createClient =
      opts.createClient ??
      ((i) => new NgClient({ address: i.address, port: i.port, timeoutMs: opts.ngTimeoutMs ?? 1000, breaker: new CircuitBreaker(`rtpengine:${i.id}`) }));
  }

  /** Healthy discovered nodes except `skip` (the ones the local registry owns), for placement. */
  placementNodes(skip: (id: string) => boolean): PlacementNode[] {
    const out: PlacementNode[] = [];
    for (const i of this.source.instances()) {
      if (skip(i.id)) continue;
      out.push(placementNodeFromInstance(i, this.remotes.get(i.id)?.calls ?? 0));
    }
    return out;
  }

  isHealthy(id: string): boolean {
    const i = this.source.get(id);
    return i !== undefined && i.meta['drained'] !== '1';
  }

  /** Count a call on a discovered node, opening its ng client if needed. Throws SERVICE_UNAVAILABLE when unknown or over the client bound. */
  assign(callId: string, nodeId: string): void {
    if (this.allocations.get(callId) === nodeId) return;
    this.release(callId);
    const r = this.remote(nodeId);
    r.calls++;
    if (r.idle !== undefined) clearTimeout(r.idle);
    r.idle = undefined;
    this.allocations.set(callId, nodeId);
  }

  release(callId: string): boolean {
    const id = this.allocations.get(callId);
    if (id === undefined) return false;
    this.allocations.delete(callId);
    const r = this.remotes.get(id);
    if (r !== undefined) {
      r.calls = Math.max(0, r.calls - 1);
      if (r.calls === 0) this.scheduleIdleClose(id, r);
    }
    return true;
  }

  /** The engine of a node with calls on it (or a node discovery lists now), undefined otherwise. */
  engine(nodeId: string): MediaEngine | undefined {
    const r = this.remotes.get(nodeId);
    if (r !== undefined) return r.engine;
    return this.source.get(nodeId) === undefined ? undefined : this.remote(nodeId).engine;
  }

  /** Calls allocated on discovered nodes. */
  get allocated(): number {
    return this.allocations.size;
  }

  async close(): Promise<void> {
    const all = [...this.remotes.values()];
    for (const r of all) if (r.idle !== undefined) clearTimeout(r.idle);
    this.remotes.clear();
    this.allocations.clear();
    await Promise.allSettled(all.map((r) => r.client.close()));
  }

  private remote(nodeId: string): Remote {
    let r = this.remotes.get(nodeId);
    if (r !== undefined) return r;
    const inst = this.source.get(nodeId);
    if (inst === undefined) throw unavailable(`media node ${nodeId} is not in discovery's healthy list`);
    if (this.remotes.size >= this.maxClients) throw unavailable(`too many discovered media nodes in use (${this.maxClients})`);
    const client = this.createClient(inst);
    r = { client, engine: new RtpengineMediaEngine(client), calls: 0, idle: undefined };
    this.remotes.set(nodeId, r);
    this.scheduleIdleClose(nodeId, r);
    return r;
  }

  private scheduleIdleClose(id: string, r: Remote): void {
    if (r.idle !== undefined) clearTimeout(r.idle);
    r.idle = setTimeout(() => {
      if (r.calls > 0 || this.remotes.get(id) !== r) return;
      this.remotes.delete(id);
      void r.client.close();
    }, this.idleCloseMs);
    r.idle.unref?.();
  }
}

function unavailable(message: string): MeshError {
  return new MeshError('SERVICE_UNAVAILABLE', message, { retryAfter: 5 });
}
