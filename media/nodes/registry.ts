import { CircuitBreaker, type CircuitBreakerOptions, type CircuitState } from '../../regions/core/circuit-breaker.js';
import { MeshError } from '../../regions/core/errors.js';
import type { MediaNodeView } from '../../regions/store/schema.js';
import { RtpengineMediaEngine, type MediaEngine } from '../engine/index.js';
import { SafeEmitter } from '../events.js';
import { NgClient, type NgClientLike } from '../ng/client.js';

/**
 * The media nodes (rtpengines) of one region: their health, from an ng
 * `ping` every `healthIntervalMs`, and their load, counted as the sessions
 * allocated through this registry. A dead rtpengine stops answering pings
 * and is taken out of rotation within healthIntervalMs + pingTimeoutMs
 * (< 1 s with the defaults), so new calls fail fast with 503 instead of
 * hanging on an ng timeout.
 */

export interface MediaNodeConfig {
  id: string;
  /** ng control address (IP literal). */
  address: string;
  ngPort: number;
  /** What the node can do beyond relaying, e.g. `record`, `play`, `transcode`. */
  capabilities?: string[];
  /** The node's RTP port range (rtpengine --port-min/--port-max, inclusive): with both set, its free ports are estimated and a node without room for one more call takes no new ones. */
  rtpPortMin?: number;
  rtpPortMax?: number;
}

export interface MediaNodeRegistryOptions {
  nodes: MediaNodeConfig[];
  /** Region name, used in error messages. Default 'local'. */
  region?: string;
  /** Interval between health pings of each node. Default 500 ms. */
  healthIntervalMs?: number;
  /** A ping unanswered for this long marks the node unhealthy. Default 400 ms. */
  pingTimeoutMs?: number;
  /** Timeout of ng commands other than health pings. Default 1000 ms. */
  ngTimeoutMs?: number;
  /** ng retransmit interval (same cookie). Default 250 ms. */
  ngRetransmitMs?: number;
  /** Options of each node's circuit breaker. Defaults as CircuitBreaker's. */
  breaker?: CircuitBreakerOptions;
  /** Most sessions allocated at once across all nodes. Default 100000. */
  maxSessions?: number;
  /**
   * RTP ports one call holds on its node: an RTP and an RTCP port for each of
   * the call's two legs (one audio stream each). Default 4.
   */
  portsPerSession?: number;
  /** How long a node that reported port exhaustion takes no new calls (`markFull`). Default 5000 ms. */
  fullForMs?: number;
  /** Client factory, for unit tests. Default: a real NgClient. */
  createClient?: (node: MediaNodeConfig, breaker: CircuitBreaker) => NgClientLike;
  /** Called when a health listener throws. Default: ignore. */
  onListenerError?: (error: unknown) => void;
  /** Clock for `at` timestamps. Default Date.now. */
  now?: () => number;
}

export interface MediaNode {
  readonly id: string;
  readonly address: string;
  readonly ngPort: number;
  readonly capabilities: readonly string[];
  readonly client: NgClientLike;
  readonly engine: MediaEngine;
  readonly breaker: CircuitBreaker;
}

/** A node as the registry sees it now: the stored view (`MediaNodeView`, published in node metrics) with its breaker state typed. */
export interface MediaNodeSnapshot extends Omit<MediaNodeView, 'breaker'> {
  breaker: CircuitState;
}

export interface MediaHealthChange {
  nodeId: string;
  healthy: boolean;
  /** Why it became unhealthy (the ping error); undefined when it became healthy. */
  reason: string | undefined;
  at: number;
}

export type MediaNodeRegistryEvents = { health: [MediaHealthChange] };

interface NodeState {
  node: MediaNode;
  healthy: boolean;
  load: number;
  pingInFlight: boolean;
  lastPingRttMs: number | undefined;
  lastPingAt: number | undefined;
  lastError: string | undefined;
  /** Size of the node's RTP port range; undefined when not configured. */
  portCapacity: number | undefined;
  /** Until when the node takes no new calls after reporting port exhaustion (ms since the epoch). */
  fullUntil: number | undefined;
}

export class MediaNodeRegistry {
  readonly region: string;
  private readonly nodes = new Map<string, NodeState>();
  private readonly allocations = new Map<string, NodeState>();
  private drained = new Set<string>();
  private readonly events: SafeEmitter<MediaNodeRegistryEvents>;
  private readonly healthIntervalMs: number;
  private readonly pingTimeoutMs: number;
  private readonly maxSessions: number;
  private readonly portsPerSession: number;
  private readonly fullForMs: number;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;
  private starting: Promise<void> | undefined;
  private closing: Promise<void> | undefined;

  constructor(opts: MediaNodeRegistryOptions) {
    this.region = opts.region ?? 'local';
    this.healthIntervalMs = opts.healthIntervalMs ?? 500;
    this.pingTimeoutMs = opts.pingTimeoutMs ?? 400;
    this.maxSessions = opts.maxSessions ?? 100_000;
    this.portsPerSession = opts.portsPerSession ?? 4;
    this.fullForMs = opts.fullForMs ?? 5000;
    this.now = opts.now ?? Date.now;
    const onErr = opts.onListenerError;
    this.events = new SafeEmitter<MediaNodeRegistryEvents>(onErr === undefined ? undefined : (e) => onErr(e));
    const retransmitMs = opts.ngRetransmitMs ?? 250;
    const createClient = opts.createClient ?? ((n: MediaNodeConfig, breaker: CircuitBreaker): NgClientLike =>
      new NgClient({ address: n.address, port: n.ngPort, timeoutMs: opts.ngTimeoutMs ?? 1000, retransmitMs, breaker }));
    for (const cfg of opts.nodes) {
      if (this.nodes.has(cfg.id)) throw new MeshError('CONFIG_INVALID', `media node id "${cfg.id}" is configured twice`);
      const breaker = new CircuitBreaker(`rtpengine:${cfg.id}`, opts.breaker);
      const client = createClient(cfg, breaker);
      const node: MediaNode = {
        id: cfg.id,
        address: cfg.address,
        ngPort: cfg.ngPort,
        capabilities: Object.freeze([...(cfg.capabilities ?? [])]),
        client,
        engine: new RtpengineMediaEngine(client),
        breaker,
      };
      this.nodes.set(cfg.id, {
        node, healthy: false, load: 0, pingInFlight: false,
        lastPingRttMs: undefined, lastPingAt: undefined, lastError: undefined,
        portCapacity: cfg.rtpPortMin !== undefined && cfg.rtpPortMax !== undefined ? cfg.rtpPortMax - cfg.rtpPortMin + 1 : undefined,
        fullUntil: undefined,
      });
    }
  }

  /** Subscribe to health changes; returns an unsubscribe function. A throwing listener cannot break the registry. */
  on<K extends keyof MediaNodeRegistryEvents>(event: K, listener: (...args: MediaNodeRegistryEvents[K]) => void): () => void {
    return this.events.on(event, listener);
  }

  /**
   * Start health checking. Nodes start unhealthy; the returned promise
   * resolves after the first round of pings, so a caller that awaits it
   * sees every reachable node healthy. Idempotent.
   */
  start(): Promise<void> {
    if (this.closing !== undefined) return Promise.reject(new MeshError('CLOSED', 'media node registry is closed'));
    if (this.starting === undefined) {
      this.timer = setInterval(() => void this.checkAll(), this.healthIntervalMs);
      this.timer.unref();
      this.starting = this.checkAll();
    }
    return this.starting;
  }

  /**
   * Nodes an operator drained: they keep their calls but get no new ones.
   * Replaces the previous set (the source of truth is shared state, re-read periodically).
   */
  setDrained(ids: Iterable<string>): void {
    this.drained = new Set(ids);
  }

  get drainedIds(): string[] {
    return [...this.drained].filter((id) => this.nodes.has(id)).sort();
  }

  /** The least-loaded node that takes new calls (healthy, not drained, not full; ties: lowest id). Throws SERVICE_UNAVAILABLE when there is none. */
  chooseNode(opts: { capability?: string; exclude?: readonly string[] } = {}): MediaNode {
    if (this.closing !== undefined) throw new MeshError('CLOSED', 'media node registry is closed');
    let best: NodeState | undefined;
    for (const s of this.nodes.values()) {
      if (!this.isUsable(s) || this.isFullState(s)) continue;
      if (opts.capability !== undefined && !s.node.capabilities.includes(opts.capability)) continue;
      if (opts.exclude?.includes(s.node.id) === true || this.drained.has(s.node.id)) continue;
      if (best === undefined || s.load < best.load || (s.load === best.load && s.node.id < best.node.id)) best = s;
    }
    if (best === undefined) {
      const what = opts.capability === undefined ? '' : ` with capability "${opts.capability}"`;
      throw new MeshError('SERVICE_UNAVAILABLE', `no healthy media node${what} in region ${this.region}`, {
        retryAfter: 5,
        detail: { region: this.region, capability: opts.capability, nodes: this.nodes.size },
      });
    }
    return best.node;
  }

  /** Allocate a node for a call (idempotent per callId: a second acquire returns the same node). */
  acquire(callId: string, opts: { capability?: string; exclude?: readonly string[] } = {}): MediaNode {
    const existing = this.allocations.get(callId);
    if (existing !== undefined) return existing.node;
    if (this.allocations.size >= this.maxSessions) {
      throw new MeshError('SERVICE_UNAVAILABLE', `media session limit ${this.maxSessions} reached in region ${this.region}`, { retryAfter: 5 });
    }
    const node = this.chooseNode(opts);
    const s = this.nodes.get(node.id) as NodeState;
    s.load += 1;
    this.allocations.set(callId, s);
    return node;
  }

  /**
   * Count a call that already has a session on `nodeId` (a call adopted from
   * another signaling node after a failover), so placement sees its load.
   * Replaces any previous allocation of the call. Throws NOT_FOUND for an unknown node.
   */
  assign(callId: string, nodeId: string): void {
    const s = this.nodes.get(nodeId);
    if (s === undefined) throw new MeshError('NOT_FOUND', `media node ${nodeId} is not configured in region ${this.region}`);
    this.release(callId);
    s.load += 1;
    this.allocations.set(callId, s);
  }

  /** Free a call's allocation; false when the call had none. */
  release(callId: string): boolean {
    const s = this.allocations.get(callId);
    if (s === undefined) return false;
    this.allocations.delete(callId);
    s.load = Math.max(0, s.load - 1);
    return true;
  }

  nodeFor(callId: string): MediaNode | undefined {
    return this.allocations.get(callId)?.node;
  }

  /** Calls allocated on a node (to re-anchor them when it dies). */
  callsOn(nodeId: string): string[] {
    const out: string[] = [];
    for (const [callId, s] of this.allocations) if (s.node.id === nodeId) out.push(callId);
    return out;
  }

  node(id: string): MediaNode | undefined {
    return this.nodes.get(id)?.node;
  }

  isHealthy(id: string): boolean {
    const s = this.nodes.get(id);
    return s !== undefined && this.isUsable(s);
  }

  /**
   * The node reported port exhaustion (rtpengine's "Ran out of ports"): it
   * takes no new calls for `fullForMs`, though it stays healthy for the calls
   * it has (they are not re-anchored). False for an unknown node.
   */
  markFull(id: string): boolean {
    const s = this.nodes.get(id);
    if (s === undefined) return false;
    s.fullUntil = this.now() + this.fullForMs;
    return true;
  }

  /** Whether the node takes no new calls now for lack of ports (reported exhausted, or its estimated free ports are below one call's). */
  isFull(id: string): boolean {
    const s = this.nodes.get(id);
    return s !== undefined && this.isFullState(s);
  }

  /**
   * Estimated free RTP ports on the nodes that take new calls now (healthy,
   * not drained, not full): the port range minus the ports of the calls this
   * registry placed there. Undefined when no such node has a port range
   * configured (nothing to estimate from).
   */
  freePorts(): number | undefined {
    let total: number | undefined;
    for (const s of this.nodes.values()) {
      if (!this.isUsable(s) || this.drained.has(s.node.id) || this.isFullState(s)) continue;
      const free = this.freePortsOf(s);
      if (free !== undefined) total = (total ?? 0) + free;
    }
    return total;
  }

  snapshot(): MediaNodeSnapshot[] {
    return [...this.nodes.values()].map((s) => ({
      id: s.node.id,
      address: s.node.address,
      ngPort: s.node.ngPort,
      capabilities: [...s.node.capabilities],
      healthy: s.healthy,
      load: s.load,
      breaker: s.node.breaker.state,
      lastPingRttMs: s.lastPingRttMs,
      lastPingAt: s.lastPingAt,
      lastError: s.lastError,
      full: this.isFullState(s),
      ...(s.portCapacity === undefined ? {} : { portCapacity: s.portCapacity, freePorts: this.freePortsOf(s) ?? 0 }),
    }));
  }

  /** Run one round of health pings now (the timer does this every healthIntervalMs). */
  async checkAll(): Promise<void> {
    await Promise.all([...this.nodes.values()].map((s) => this.check(s)));
  }

  /** Idempotent: stops health checks, closes every node's client (pending ng requests reject with CLOSED). */
  close(): Promise<void> {
    if (this.closing === undefined) {
      if (this.timer !== undefined) clearInterval(this.timer);
      this.timer = undefined;
      this.events.removeAllListeners();
      this.closing = Promise.all([...this.nodes.values()].map((s) => s.node.client.close())).then(() => undefined);
    }
    return this.closing;
  }

  // ------------------------------------------------------------ internals

  /** Healthy by ping, and its breaker not open from command failures. */
  private isUsable(s: NodeState): boolean {
    return s.healthy && s.node.breaker.state !== 'open';
  }

  private freePortsOf(s: NodeState): number | undefined {
    return s.portCapacity === undefined ? undefined : Math.max(0, s.portCapacity - s.load * this.portsPerSession);
  }

  private isFullState(s: NodeState): boolean {
    if (s.fullUntil !== undefined) {
      if (this.now() < s.fullUntil) return true;
      s.fullUntil = undefined;
    }
    const free = this.freePortsOf(s);
    return free !== undefined && free < this.portsPerSession;
  }

  private async check(s: NodeState): Promise<void> {
    // A ping still waiting must not be doubled: its timeout will decide.
    if (s.pingInFlight || this.closing !== undefined) return;
    s.pingInFlight = true;
    try {
      const rtt = await s.node.client.probe(this.pingTimeoutMs);
      s.lastPingRttMs = rtt;
      s.lastError = undefined;
      this.setHealth(s, true, undefined);
    } catch (e) {
      const reason = e instanceof Error ? e.message : String(e);
      s.lastError = reason;
      this.setHealth(s, false, reason);
    } finally {
      s.lastPingAt = this.now();
      s.pingInFlight = false;
    }
  }

  private setHealth(s: NodeState, healthy: boolean, reason: string | undefined): void {
    if (this.closing !== undefined || s.healthy === healthy) return;
    s.healthy = healthy;
    this.events.emit('health', { nodeId: s.node.id, healthy, reason, at: this.now() });
  }
}
