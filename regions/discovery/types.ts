/**
 * Service discovery: who is alive, where, and what it can do. Every node
 * registers under a TTL and keeps it alive with heartbeats; placement and
 * routing only ever see instances whose TTL has not run out.
 *
 * Adapters: RedisDiscovery (embedded default), EtcdDiscovery (leases + watch)
 * and ConsulDiscovery (one Consul datacenter per region). All pass the same
 * contract suite (test/integration/regions/discovery/discovery-contract.ts).
 */

/** Well-known services; any other name is allowed too. */
export type ServiceName = 'signaling' | 'media' | 'central-media' | 'region-link' | (string & {});

export interface ServiceInstance {
  /** Unique across the mesh, e.g. 'eu-west-media-1'. */
  id: string;
  service: ServiceName;
  region: string;
  address: string;
  port: number;
  /** What it offers, e.g. ['relay', 'play', 'record']. */
  capabilities: string[];
  /** Free-form string attributes (ng port, version, ...). */
  meta: Record<string, string>;
}

export interface DiscoveryQuery {
  service: string;
  /** Only this region. Default: all regions. */
  region?: string;
  /** Only instances offering this capability. Default: any. */
  capability?: string;
}

export interface RegisterOptions {
  /** The instance counts as dead this long after its last heartbeat. Heartbeats go every ttlMs/3. */
  ttlMs: number;
}

/** A live registration: heartbeats run until it is closed. */
export interface Registration {
  readonly instance: ServiceInstance;
  /** Stop heartbeats and deregister (graceful leave). Idempotent. */
  close(): Promise<void>;
  /** Stop heartbeats only; the instance disappears when its TTL runs out (what a crash looks like). */
  stopHeartbeats(): void;
  /** Heartbeats that failed so far (Redis/etcd/Consul unreachable or slow). */
  readonly failedHeartbeats: number;
}

export interface DiscoveryChange {
  /** All healthy instances matching the watch's query, now. */
  instances: ServiceInstance[];
  added: ServiceInstance[];
  removed: ServiceInstance[];
}

export type WatchCallback = (change: DiscoveryChange) => void;
export type Unwatch = () => void;

export interface Discovery {
  /** Register (or re-register) an instance and start its heartbeats. */
  register(instance: ServiceInstance, opts: RegisterOptions): Promise<Registration>;
  /** Remove an instance now (any instance, not only this process's). */
  deregister(id: string): Promise<void>;
  /** Healthy instances matching the query, sorted by id. */
  list(query: DiscoveryQuery): Promise<ServiceInstance[]>;
  /**
   * Call `cb` with the current set once, then on every change (instance added,
   * removed, expired or changed). Errors while watching are retried, not thrown.
   */
  watch(query: DiscoveryQuery, cb: WatchCallback): Unwatch;
  /** Stop all heartbeats and watches and close connections (does not deregister). Idempotent. */
  close(): Promise<void>;
}
