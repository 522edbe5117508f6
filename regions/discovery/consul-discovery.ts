/**
 * Discovery on Consul (production): one Consul datacenter per region.
 *
 * - register: the instance becomes a Consul service on its region's agent,
 *   with a TTL check that this process passes every ttl/3 (a crashed process
 *   stops passing it, and Consul marks the service critical after the TTL).
 *   Capabilities travel as tags `cap:<name>`, the region as meta `mesh_region`
 *   (a reserved meta key).
 * - list: /health/service with passing=true in the region's datacenter (or in
 *   every datacenter of the catalog when the query names no region).
 * - watch: the same query as a blocking query (index + wait) per datacenter.
 *
 * Every HTTP call has a timeout (blocking ones: wait + margin).
 */
import { EventEmitter } from 'node:events';
import Consul from 'consul';
import { MeshError } from '../core/errors.js';
import { SnapshotDiff, matchesQuery, sortById, validateInstance } from './snapshot.js';
import { withTimeout } from '../core/timeout.js';
import { HeartbeatRegistration, reportDiscoveryError, type HeartbeatHooks } from './heartbeat-registration.js';
import type { Discovery, DiscoveryQuery, RegisterOptions, Registration, ServiceInstance, Unwatch, WatchCallback } from './types.js';

export interface ConsulAgentAddress {
  host: string;
  port: number;
  secure?: boolean;
}

export interface ConsulDiscoveryOptions extends ConsulAgentAddress {
  /** ACL token. Default none. */
  token?: string;
  /** Agent of each region's datacenter (registrations go to the local agent of their region). Default: host:port for all. */
  agents?: Record<string, ConsulAgentAddress>;
  /** Datacenter name of a region. Default: the region id itself. */
  datacenterOf?: (region: string) => string;
  /** Timeout of every non-blocking call. Default 2000 ms. */
  requestTimeoutMs?: number;
  /** Longest wait of one blocking query. Default 5000 ms. */
  watchWaitMs?: number;
  /** Consul removes a service critical for this long (Consul's minimum is 1m). Default '1m'. */
  deregisterCriticalAfter?: string;
  onError?: (error: MeshError, what: string) => void;
}

/** Options from CONSUL_HTTP_ADDR ('host:port' or 'http[s]://host:port') and CONSUL_HTTP_TOKEN; undefined when unset. */
export function consulOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): ConsulDiscoveryOptions | undefined {
  const addr = env['CONSUL_HTTP_ADDR'];
  if (addr === undefined || addr.trim() === '') return undefined;
  const url = new URL(/^[a-z]+:\/\//i.test(addr) ? addr : `http://${addr}`);
  const secure = url.protocol === 'https:';
  const token = env['CONSUL_HTTP_TOKEN'];
  return {
    host: url.hostname,
    port: url.port === '' ? (secure ? 443 : 8500) : Number(url.port),
    secure,
    ...(token === undefined || token === '' ? {} : { token }),
  };
}

const REGION_META = 'mesh_region';
const CAP_TAG = 'cap:';

interface ConsulServiceEntry {
  Node?: { Address?: string; Datacenter?: string };
  Service?: { ID?: string; Service?: string; Address?: string; Port?: number; Tags?: string[] | null; Meta?: Record<string, string> | null };
}

export class ConsulDiscovery implements Discovery {
  private readonly opts: ConsulDiscoveryOptions & { requestTimeoutMs: number; watchWaitMs: number };
  private readonly clients = new Map<string, Consul>();
  private readonly registrations = new Map<string, ConsulRegistration>();
  private readonly cancels = new Set<() => void>();
  private closed = false;

  constructor(opts: ConsulDiscoveryOptions) {
    this.opts = { requestTimeoutMs: 2000, watchWaitMs: 5000, ...opts };
  }

  async register(instance: ServiceInstance, opts: RegisterOptions): Promise<Registration> {
    this.assertOpen();
    const bad = validateInstance(instance);
    if (bad !== undefined) throw new MeshError('BAD_REQUEST', `cannot register instance: ${bad}`);
    if (!(opts.ttlMs >= 1000)) throw new MeshError('BAD_REQUEST', 'ttlMs must be >= 1000 for Consul');
    const inst: ServiceInstance = { ...instance, capabilities: [...instance.capabilities], meta: { ...instance.meta } };
    this.registrations.get(inst.id)?.stopHeartbeats();
    const client = this.clientFor(inst.region);
    const checkId = `mesh-ttl:${inst.id}`;
    const check = {
      checkid: checkId,
      name: `${inst.service} ${inst.id} heartbeat`,
      ttl: `${opts.ttlMs}ms`,
      status: 'passing',
      deregistercriticalserviceafter: this.opts.deregisterCriticalAfter ?? '1m',
    };
    await this.call(
      client.agent.service.register({
        name: inst.service,
        id: inst.id,
        address: inst.address,
        port: inst.port,
        tags: inst.capabilities.map((c) => CAP_TAG + c),
        meta: { ...inst.meta, [REGION_META]: inst.region },
        // A TTL check has no Timeout; the client's typing asks for one anyway.
        check: check as unknown as { name: string; timeout: string },
        ...this.httpTimeout(),
      }),
      `register ${inst.id}`,
    );
    const reg = new ConsulRegistration(inst, opts.ttlMs, client, {
      beat: () => this.passCheck(client, checkId).then(() => true),
      leave: (r) => this.leave(r),
      reportError: (e, what) => this.reportError(e, what),
    });
    this.registrations.set(inst.id, reg);
    reg.startHeartbeats();
    return reg;
  }

  async deregister(id: string): Promise<void> {
    this.assertOpen();
    const local = this.registrations.get(id);
    local?.stopHeartbeats();
    this.registrations.delete(id);
    // The agent that holds it is known only for our own registrations; otherwise ask every agent we know.
    const clients = local !== undefined ? [local.client] : this.allClients();
    const results = await Promise.allSettled(
      clients.map((c) => this.call(c.agent.service.deregister({ id, ...this.httpTimeout() }), `deregister ${id}`)),
    );
    if (results.every((r) => r.status === 'rejected')) {
      const first = results[0];
      if (first?.status === 'rejected' && local !== undefined) throw first.reason;
    }
  }

  async list(query: DiscoveryQuery): Promise<ServiceInstance[]> {
    this.assertOpen();
    const dcs = await this.datacentersFor(query);
    const lists = await Promise.all(
      dcs.map(async (dc) => {
        const entries = (await this.call(
          this.defaultClient().health.service({ ...this.serviceQuery(query, dc), ...this.httpTimeout() }),
          `list ${query.service} in ${dc}`,
        )) as ConsulServiceEntry[];
        return entries.map(toInstance).filter((i): i is ServiceInstance => i !== undefined);
      }),
    );
    return sortById(lists.flat().filter((i) => matchesQuery(i, query)));
  }

  watch(query: DiscoveryQuery, cb: WatchCallback): Unwatch {
    this.assertOpen();
    const diff = new SnapshotDiff();
    const perDc = new Map<string, ServiceInstance[]>();
    let stopped = false;
    const ctxs = new Set<EventEmitter & { canceled?: boolean }>();
    const cancel = (): void => {
      stopped = true;
      for (const c of ctxs) {
        c.canceled = true;
        c.emit('cancel');
      }
    };
    this.cancels.add(cancel);
    const publish = (): void => {
      const change = diff.next(sortById([...perDc.values()].flat().filter((i) => matchesQuery(i, query))));
      if (change === undefined) return;
      try {
        cb(change);
      } catch (e) {
        this.reportError(e, `watch callback ${query.service}`);
      }
    };
    const loop = async (dc: string): Promise<void> => {
      let index: string | undefined;
      let failures = 0;
      while (!stopped && !this.closed) {
        const ctx = Object.assign(new EventEmitter(), { includeResponse: true, canceled: false });
        ctxs.add(ctx);
        try {
          const blocking = index === undefined ? {} : { index, wait: `${this.opts.watchWaitMs}ms` };
          const [res, entries] = (await this.defaultClient().health.service({
            ...this.serviceQuery(query, dc),
            ...blocking,
            ctx,
            // Consul may add up to wait/16 to a blocking query; leave a margin on top.
            timeout: this.opts.watchWaitMs + Math.ceil(this.opts.watchWaitMs / 16) + this.opts.requestTimeoutMs,
          } as never)) as unknown as [{ headers: Record<string, string | undefined> }, ConsulServiceEntry[]];
          failures = 0;
          const next = res.headers['x-consul-index'];
          // An index that goes backwards means Consul's state was reset: start over (Consul docs, blocking queries).
          index = next !== undefined && (index === undefined || BigInt(next) >= BigInt(index)) && next !== '0' ? next : undefined;
          perDc.set(dc, entries.map(toInstance).filter((i): i is ServiceInstance => i !== undefined));
          publish();
        } catch (e) {
          if (stopped || this.closed) return;
          this.reportError(e, `watch ${query.service} in ${dc}`);
          index = undefined;
          await sleep(Math.min(5000, 200 * 2 ** Math.min(failures++, 5)));
        } finally {
          ctxs.delete(ctx);
        }
      }
    };
    // The datacenters are asked once; an agent unreachable at this moment is retried with backoff,
    // so a watch started while Consul is down still begins once it is back.
    void (async () => {
      for (let failures = 0; !stopped && !this.closed; failures++) {
        try {
          const dcs = await this.datacentersFor(query);
          if (stopped || this.closed) return;
          for (const dc of dcs) void loop(dc);
          return;
        } catch (e) {
          if (stopped || this.closed) return;
          this.reportError(e, `watch ${query.service}: datacenters`);
          await sleep(Math.min(5000, 200 * 2 ** Math.min(failures, 5)));
        }
      }
    })();
    return () => {
      cancel();
      this.cancels.delete(cancel);
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const r of this.registrations.values()) r.stopHeartbeats();
    this.registrations.clear();
    for (const c of this.cancels) c();
    this.cancels.clear();
    for (const c of this.clients.values()) c.destroy();
    this.clients.clear();
  }

  /** Used by registrations. */
  async leave(reg: HeartbeatRegistration): Promise<void> {
    if (this.closed) return;
    if (this.registrations.get(reg.instance.id) === reg) await this.deregister(reg.instance.id);
  }

  passCheck(client: Consul, checkId: string): Promise<unknown> {
    return this.call(client.agent.check.pass({ id: checkId, ...this.httpTimeout() }), `pass ${checkId}`);
  }

  reportError(e: unknown, what: string): void {
    reportDiscoveryError(this.opts.onError, e, what);
  }

  /**
   * Per-request HTTP timeout, passed through to the client's HTTP layer (papi).
   * The client's typings omit it, hence the empty-object type.
   */
  private httpTimeout(): {} {
    return { timeout: this.opts.requestTimeoutMs };
  }

  private serviceQuery(query: DiscoveryQuery, dc: string): { service: string; dc: string; passing: true; tag?: string } {
    return {
      service: query.service,
      dc,
      passing: true,
      ...(query.capability === undefined ? {} : { tag: CAP_TAG + query.capability }),
    };
  }

  private async datacentersFor(query: DiscoveryQuery): Promise<string[]> {
    if (query.region !== undefined) return [this.dcOf(query.region)];
    return (await this.call(this.defaultClient().catalog.datacenters(this.httpTimeout()), 'datacenters')) as string[];
  }

  private dcOf(region: string): string {
    return this.opts.datacenterOf?.(region) ?? region;
  }

  private defaultClient(): Consul {
    return this.clientAt('', this.opts);
  }

  private clientFor(region: string): Consul {
    // Own keys only: a region id such as `constructor` must not find Object.prototype's.
    const agents = this.opts.agents;
    const a = agents !== undefined && Object.hasOwn(agents, region) ? agents[region] : undefined;
    return a === undefined ? this.defaultClient() : this.clientAt(region, a);
  }

  private allClients(): Consul[] {
    const list = [this.defaultClient()];
    for (const region of Object.keys(this.opts.agents ?? {})) list.push(this.clientFor(region));
    return list;
  }

  private clientAt(key: string, a: ConsulAgentAddress): Consul {
    let c = this.clients.get(key);
    if (c === undefined) {
      c = new Consul({
        host: a.host,
        port: a.port,
        secure: a.secure ?? false,
        ...(this.opts.token === undefined ? {} : { defaults: { token: this.opts.token } }),
      });
      this.clients.set(key, c);
    }
    return c;
  }

  private call<T>(p: Promise<T>, what: string): Promise<T> {
    // The client's own timeout aborts the HTTP request; this one also bounds anything around it.
    return withTimeout(p, this.opts.requestTimeoutMs + 500, `consul ${what}`);
  }

  private assertOpen(): void {
    if (this.closed) throw new MeshError('CLOSED', 'discovery closed');
  }
}

function toInstance(e: ConsulServiceEntry): ServiceInstance | undefined {
  const s = e.Service;
  if (s?.ID === undefined || s.Service === undefined) return undefined;
  const meta = { ...(s.Meta ?? {}) };
  const region = meta[REGION_META] ?? e.Node?.Datacenter ?? '';
  delete meta[REGION_META];
  return {
    id: s.ID,
    service: s.Service,
    region,
    address: s.Address !== undefined && s.Address !== '' ? s.Address : (e.Node?.Address ?? ''),
    port: s.Port ?? 0,
    capabilities: (s.Tags ?? []).filter((t) => t.startsWith(CAP_TAG)).map((t) => t.slice(CAP_TAG.length)),
    meta,
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref?.());
}

/** A registration that also remembers the agent holding it (deregistration goes there). */
class ConsulRegistration extends HeartbeatRegistration {
  constructor(
    instance: ServiceInstance,
    ttlMs: number,
    readonly client: Consul,
    hooks: HeartbeatHooks,
  ) {
    super(instance, ttlMs, hooks);
  }
}
