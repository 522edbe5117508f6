/**
 * Discovery for the running processes (DESIGN.md "Failure is normal": every
 * node registers with discovery under a TTL; placement uses only healthy
 * nodes). The one place an adapter is chosen:
 *
 *   discovery.kind set            → that adapter
 *   else consul.address set       → Consul (CONSUL_HTTP_ADDR fills it, see config.ts)
 *   else etcd.endpoints set       → etcd
 *   else                          → Redis (the embedded default), on redis.url
 *
 * A `MeshDiscovery` bundles the adapter with a registrar (registrations that
 * survive outages) and views (watched healthy lists). Discovery failures are
 * logged once per outage, then quietly retried: a node whose Redis, etcd or
 * Consul is away keeps serving with what it last knew.
 */
import { ConsulDiscovery, consulOptionsFromEnv, type ConsulAgentAddress } from '../regions/discovery/consul-discovery.js';
import { EtcdDiscovery } from '../regions/discovery/etcd-discovery.js';
import { RedisDiscovery } from '../regions/discovery/redis-discovery.js';
import type { Discovery, DiscoveryQuery } from '../regions/discovery/types.js';
import type { MeshError } from '../regions/core/errors.js';
import type { Config } from './config.js';
import { DiscoveryRegistrar } from '../regions/discovery/registrar.js';
import { DiscoveryView } from '../regions/discovery/view.js';
import { keys } from '../regions/store/keys.js';
import type { Logger } from '../regions/core/log.js';

export type DiscoveryKind = 'redis' | 'etcd' | 'consul';

/** etcd's own default client URL, used when `kind: etcd` names no endpoints. */
export const DEFAULT_ETCD_ENDPOINTS: readonly string[] = ['http://127.0.0.1:2379'];

/** Which adapter a configuration asks for. */
export function discoveryKind(config: Config): DiscoveryKind {
  const d = config.discovery;
  return d.kind ?? (d.consul.address !== undefined ? 'consul' : d.etcd.endpoints !== undefined ? 'etcd' : 'redis');
}

/** The etcd members discovery talks to. */
export function etcdEndpoints(config: Config): readonly string[] {
  return config.discovery.etcd.endpoints ?? DEFAULT_ETCD_ENDPOINTS;
}

/** Prefix of discovery's Redis keys: its own namespace under the mesh's prefix. */
export function discoveryKeyPrefix(config: Config): string {
  return config.discovery.keyPrefix ?? keys(config.redis.keyPrefix).discoveryNamespace();
}

/**
 * Logs the first discovery failure of an outage (warn) and the recovery (info)
 * with how many failures were not logged in between; nothing else.
 */
export class DiscoveryErrorLog {
  private failing = false;
  private suppressed = 0;

  constructor(
    private readonly log: Logger,
    private readonly fields: Record<string, unknown>,
  ) {}

  get isFailing(): boolean {
    return this.failing;
  }

  error(e: MeshError, what: string): void {
    if (this.failing) {
      this.suppressed++;
      return;
    }
    this.failing = true;
    this.suppressed = 0;
    this.log.warn('discovery unreachable; serving with the last known view and retrying with backoff', { ...this.fields, what, error: e.message });
  }

  ok(): void {
    if (!this.failing) return;
    this.failing = false;
    this.log.info('discovery reachable again', { ...this.fields, failuresNotLogged: this.suppressed });
  }
}

export interface MeshDiscovery {
  readonly kind: DiscoveryKind;
  readonly discovery: Discovery;
  readonly registrar: DiscoveryRegistrar;
  readonly ttlMs: number;
  /** A started view of `query`, closed with this object. */
  view(query: DiscoveryQuery): DiscoveryView;
  /** Withdraw every registration (bounded), stop views, close connections. Idempotent; never throws. */
  close(): Promise<void>;
}

export interface MeshDiscoveryOptions {
  /** Use this adapter instead of building one from the configuration (tests). Closed with the MeshDiscovery. */
  discovery?: Discovery;
}

/** Build the configured adapter, without connecting anything that could throw. */
export function createDiscoveryAdapter(config: Config, onError: (e: MeshError, what: string) => void): Discovery {
  const d = config.discovery;
  const kind = discoveryKind(config);
  if (kind === 'etcd') {
    return new EtcdDiscovery({
      endpoints: etcdEndpoints(config),
      keyPrefix: discoveryKeyPrefix(config),
      requestTimeoutMs: d.requestTimeoutMs,
      watchRenewMs: d.etcd.watchRenewMs,
      onError,
    });
  }
  if (kind === 'consul') {
    const parse = (addr: string): ConsulAgentAddress => {
      const o = consulOptionsFromEnv({ CONSUL_HTTP_ADDR: addr });
      // The schema requires a non-empty string, so this cannot be undefined.
      return { host: o?.host ?? '127.0.0.1', port: o?.port ?? 8500, secure: o?.secure ?? false };
    };
    const agents: Record<string, ConsulAgentAddress> = {};
    for (const [region, addr] of Object.entries(d.consul.agents)) agents[region] = parse(addr);
    return new ConsulDiscovery({
      ...parse(d.consul.address ?? '127.0.0.1:8500'),
      ...(d.consul.token === undefined ? {} : { token: d.consul.token }),
      agents,
      requestTimeoutMs: d.requestTimeoutMs,
      watchWaitMs: d.consul.watchWaitMs,
      onError,
    });
  }
  return new RedisDiscovery({
    url: d.redisUrl ?? config.redis.url,
    keyPrefix: discoveryKeyPrefix(config),
    commandTimeoutMs: d.requestTimeoutMs,
    onError,
  });
}

export function createMeshDiscovery(config: Config, log: Logger, opts: MeshDiscoveryOptions = {}): MeshDiscovery {
  const kind = discoveryKind(config);
  const errors = new DiscoveryErrorLog(log, { discovery: kind });
  const onError = (e: MeshError, what: string): void => errors.error(e, what);
  const discovery = opts.discovery ?? createDiscoveryAdapter(config, onError);
  const d = config.discovery;
  const registrar = new DiscoveryRegistrar(discovery, {
    ttlMs: d.ttlMs,
    reconcileMs: d.reconcileMs,
    maxBackoffMs: d.maxBackoffMs,
    // Consul's client adds 500 ms around its own timeout, and an etcd registration is two calls
    // (grant, then one transaction): stay above every adapter's bound.
    timeoutMs: (kind === 'etcd' ? 2 * d.requestTimeoutMs : d.requestTimeoutMs) + 1000,
    onError,
    onOk: () => errors.ok(),
  });
  const views = new Set<DiscoveryView>();
  let closing: Promise<void> | undefined;
  const where =
    kind === 'redis' ? { keyPrefix: discoveryKeyPrefix(config) } : kind === 'etcd' ? { keyPrefix: discoveryKeyPrefix(config), etcd: etcdEndpoints(config).join(',') } : { consul: d.consul.address };
  log.info('discovery', { discovery: kind, ttlMs: d.ttlMs, ...where });
  return {
    kind,
    discovery,
    registrar,
    ttlMs: d.ttlMs,
    view(query) {
      const v = new DiscoveryView(discovery, query, (e) => log.warn('discovery listener failed', { error: e as Error }));
      if (closing !== undefined) return v;
      views.add(v);
      // A change arriving proves discovery answers again.
      v.on(() => errors.ok());
      return v.start();
    },
    close() {
      closing ??= (async () => {
        for (const v of views) v.close();
        await registrar.close();
        try {
          await discovery.close();
        } catch (e) {
          log.debug('discovery close failed', { error: e as Error });
        }
      })();
      return closing;
    },
  };
}
