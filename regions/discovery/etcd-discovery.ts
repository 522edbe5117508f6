/**
 * Discovery on etcd v3 (a production choice beside Consul): leases + watch,
 * over etcd's HTTP/JSON gateway (./etcd-http.ts).
 *
 * - register: grant a lease of ceil(ttl) seconds, then put two keys bound to
 *   it in one transaction: `<prefix>svc/<service>/<id>` (the instance as
 *   JSON) and `<prefix>id/<id>` (its service, so an id can be found without
 *   knowing the service). Heartbeats are lease keep-alives every ttl/3; when
 *   they stop, etcd revokes the lease at its TTL and both keys go with it.
 *   etcd raises a TTL below its own minimum (about 2 s with default election
 *   settings, etcd's lessor: minLeaseTTL = 1.5 × election timeout).
 * - deregister: revoke the lease the id key is bound to (any node may do
 *   this; the owner's next keep-alive learns the lease is gone and stops).
 * - list: one range read of `<prefix>svc/<service>/`, capped.
 * - watch: a range read (snapshot + revision), then a watch stream from the
 *   next revision; lease expiries arrive as DELETE events. The stream is
 *   renewed every watchRenewMs from the last revision seen, so a connection
 *   that died silently is noticed; after a failure the watch re-reads the
 *   snapshot (with backoff) before watching again.
 */
import { MeshError } from '../core/errors.js';
import { EtcdHttp, GRPC_NOT_FOUND, base64Encode, int64, prefixRangeEnd, readKv, type EtcdKv } from './etcd-http.js';
import { HeartbeatRegistration, reportDiscoveryError, type HeartbeatHooks } from './heartbeat-registration.js';
import { SnapshotDiff, matchesQuery, sortById, validateInstance } from './snapshot.js';
import type { Discovery, DiscoveryQuery, RegisterOptions, Registration, ServiceInstance, Unwatch, WatchCallback } from './types.js';

export interface EtcdDiscoveryOptions {
  /** Client URLs of the cluster's members, e.g. ['http://127.0.0.1:2379']. */
  endpoints: readonly string[];
  /** Prefix of every key. Default 'mesh/disc/'. */
  keyPrefix?: string;
  /** Timeout of every call (a watch: of its connect). Default 1000 ms. */
  requestTimeoutMs?: number;
  /** A watch stream is re-opened this often, from the last revision seen. Default 30000 ms. */
  watchRenewMs?: number;
  /** Most instances read per service. Default 10 000. */
  maxInstancesPerService?: number;
  /** Largest etcd answer (and watch message) accepted. Default 8 MiB. */
  maxResponseBytes?: number;
  /** Failures of background work (heartbeats, watches), for logging. Default: ignored. */
  onError?: (error: MeshError, what: string) => void;
}

const MIN_TTL_MS = 1000;
const MAX_BACKOFF_MS = 5000;

export class EtcdDiscovery implements Discovery {
  private readonly opts: Required<Omit<EtcdDiscoveryOptions, 'onError'>> & Pick<EtcdDiscoveryOptions, 'onError'>;
  private readonly http: EtcdHttp;
  private readonly registrations = new Map<string, EtcdRegistration>();
  private readonly watches = new Set<AbortController>();
  private closed = false;

  constructor(opts: EtcdDiscoveryOptions) {
    this.opts = {
      keyPrefix: 'mesh/disc/',
      requestTimeoutMs: 1000,
      watchRenewMs: 30_000,
      maxInstancesPerService: 10_000,
      maxResponseBytes: 8 * 1024 * 1024,
      ...opts,
    };
    this.http = new EtcdHttp({ endpoints: this.opts.endpoints, requestTimeoutMs: this.opts.requestTimeoutMs, maxResponseBytes: this.opts.maxResponseBytes });
  }

  async register(instance: ServiceInstance, opts: RegisterOptions): Promise<Registration> {
    this.assertOpen();
    const bad = validateInstance(instance);
    if (bad !== undefined) throw new MeshError('BAD_REQUEST', `cannot register instance: ${bad}`);
    if (!(opts.ttlMs >= MIN_TTL_MS)) throw new MeshError('BAD_REQUEST', `ttlMs must be >= ${MIN_TTL_MS} for etcd`);
    const inst: ServiceInstance = { ...instance, capabilities: [...instance.capabilities], meta: { ...instance.meta } };
    // Re-registering the same id replaces the old heartbeat loop.
    this.registrations.get(inst.id)?.stopHeartbeats();

    // Two calls: grant, then one transaction that reads the id's previous binding and writes both keys.
    const granted = await this.http.call('/v3/lease/grant', { TTL: Math.ceil(opts.ttlMs / 1000) }, `grant lease for ${inst.id}`);
    const lease = int64(granted['ID'], 'lease ID').toString();
    if (lease === '0') throw new MeshError('BAD_GATEWAY', `etcd granted no lease for ${inst.id}`);
    let previous: string | undefined;
    try {
      const r = await this.http.call(
        '/v3/kv/txn',
        {
          success: [
            // Operations of a transaction apply in order: this range sees the value before the puts.
            { request_range: { key: base64Encode(this.idKey(inst.id)) } },
            { request_put: { key: base64Encode(this.svcKey(inst.service, inst.id)), value: base64Encode(JSON.stringify(inst)), lease } },
            { request_put: { key: base64Encode(this.idKey(inst.id)), value: base64Encode(inst.service), lease } },
          ],
        },
        `register ${inst.id}`,
      );
      const responses = Array.isArray(r['responses']) ? (r['responses'] as Record<string, unknown>[]) : [];
      const range = responses[0]?.['response_range'] as Record<string, unknown> | undefined;
      const kv = Array.isArray(range?.['kvs']) ? readKv(range['kvs'][0]) : undefined;
      previous = kv === undefined || kv.lease === '0' ? undefined : kv.lease;
    } catch (e) {
      void this.revoke(lease).catch(() => undefined);
      throw e;
    }
    // The previous registration of this id (perhaps under another service) goes with its lease;
    // until that lands, a changed service lists the id twice at most for one TTL.
    if (previous !== undefined && previous !== lease) {
      void this.revoke(previous).catch((e: unknown) => {
        if (!this.closed) this.reportError(e, `revoke old lease of ${inst.id}`);
      });
    }

    const reg = new EtcdRegistration(inst, opts.ttlMs, lease, {
      beat: () => this.keepAlive(lease, inst.id),
      leave: (r) => this.leave(r as EtcdRegistration),
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
    const lease = (await this.leaseOfId(id)) ?? local?.lease;
    if (lease !== undefined && lease !== '0') await this.revoke(lease);
  }

  async list(query: DiscoveryQuery): Promise<ServiceInstance[]> {
    this.assertOpen();
    const { kvs } = await this.rangeService(query.service, `list ${query.service}`);
    const out: ServiceInstance[] = [];
    for (const kv of kvs) {
      const inst = this.instanceOf(kv, query.service);
      if (inst !== undefined && matchesQuery(inst, query)) out.push(inst);
    }
    return sortById(out);
  }

  watch(query: DiscoveryQuery, cb: WatchCallback): Unwatch {
    this.assertOpen();
    const q: DiscoveryQuery = { ...query };
    const stop = new AbortController();
    this.watches.add(stop);
    void this.watchLoop(q, cb, stop.signal);
    return () => {
      stop.abort(new MeshError('CLOSED', 'unwatched'));
      this.watches.delete(stop);
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const r of this.registrations.values()) r.stopHeartbeats();
    this.registrations.clear();
    for (const w of this.watches) w.abort(new MeshError('CLOSED', 'discovery closed'));
    this.watches.clear();
    this.http.close();
  }

  // ------------------------------------------------------------ internals

  private svcPrefix(service: string): string {
    return `${this.opts.keyPrefix}svc/${service}/`;
  }

  private svcKey(service: string, id: string): string {
    return this.svcPrefix(service) + id;
  }

  private idKey(id: string): string {
    return `${this.opts.keyPrefix}id/${id}`;
  }

  /** The lease the id's key is bound to now, if the id is registered. */
  private async leaseOfId(id: string): Promise<string | undefined> {
    const r = await this.http.call('/v3/kv/range', { key: base64Encode(this.idKey(id)) }, `look up ${id}`);
    const kv = Array.isArray(r['kvs']) ? readKv(r['kvs'][0]) : undefined;
    return kv === undefined || kv.lease === '0' ? undefined : kv.lease;
  }

  /** Revoke a lease (its keys go with it); one already gone is not an error. */
  private async revoke(lease: string): Promise<void> {
    try {
      await this.http.call('/v3/lease/revoke', { ID: lease }, `revoke lease ${lease}`);
    } catch (e) {
      if (e instanceof MeshError && e.detail?.['grpcCode'] === GRPC_NOT_FOUND) return;
      throw e;
    }
  }

  /** One heartbeat: false once etcd no longer knows the lease (expired or revoked by a deregister). */
  private async keepAlive(lease: string, id: string): Promise<boolean> {
    const r = await this.http.call('/v3/lease/keepalive', { ID: lease }, `heartbeat ${id}`);
    // The gateway wraps a streamed answer in "result"; a lease etcd does not know comes back without a TTL.
    const result = r['result'];
    if (typeof result !== 'object' || result === null) throw new MeshError('BAD_GATEWAY', `etcd heartbeat ${id}: no result`);
    return int64((result as Record<string, unknown>)['TTL'], 'TTL') > 0n;
  }

  private async rangeService(service: string, what: string): Promise<{ kvs: EtcdKv[]; revision: bigint }> {
    const prefix = this.svcPrefix(service);
    const r = await this.http.call(
      '/v3/kv/range',
      { key: base64Encode(prefix), range_end: prefixRangeEnd(prefix), limit: this.opts.maxInstancesPerService },
      what,
    );
    const header = r['header'] as Record<string, unknown> | undefined;
    const revision = int64(header?.['revision'], 'revision');
    const raw = r['kvs'] ?? [];
    if (!Array.isArray(raw)) throw new MeshError('BAD_GATEWAY', `etcd ${what}: kvs is not a list`);
    const kvs = raw.map(readKv).filter((kv): kv is EtcdKv => kv !== undefined);
    return { kvs, revision };
  }

  /** The instance a key holds, validated; undefined for a foreign or corrupt value. */
  private instanceOf(kv: EtcdKv, service: string): ServiceInstance | undefined {
    try {
      const v = JSON.parse(kv.value) as Partial<ServiceInstance>;
      if (
        typeof v !== 'object' || v === null ||
        typeof v.id !== 'string' || typeof v.service !== 'string' || typeof v.region !== 'string' ||
        typeof v.address !== 'string' || typeof v.port !== 'number' ||
        !Array.isArray(v.capabilities) || !v.capabilities.every((c) => typeof c === 'string') ||
        typeof v.meta !== 'object' || v.meta === null || Array.isArray(v.meta) || !Object.values(v.meta).every((m) => typeof m === 'string')
      ) {
        return undefined;
      }
      const inst: ServiceInstance = { id: v.id, service: v.service, region: v.region, address: v.address, port: v.port, capabilities: v.capabilities, meta: v.meta };
      // The key names the instance: a value under someone else's key is not trusted.
      if (inst.service !== service || kv.key !== this.svcKey(service, inst.id) || validateInstance(inst) !== undefined) return undefined;
      return inst;
    } catch {
      return undefined;
    }
  }

  private async watchLoop(query: DiscoveryQuery, cb: WatchCallback, stopped: AbortSignal): Promise<void> {
    const diff = new SnapshotDiff();
    const prefix = this.svcPrefix(query.service);
    /** Instances by key as of `revision`; undefined = re-read the snapshot first. */
    let known: Map<string, ServiceInstance> | undefined;
    let revision = 0n;
    let failures = 0;
    const publish = (): void => {
      if (known === undefined || stopped.aborted) return;
      const change = diff.next(sortById([...known.values()].filter((i) => matchesQuery(i, query))));
      if (change === undefined) return;
      try {
        cb(change);
      } catch (e) {
        this.reportError(e, `watch callback ${query.service}`);
      }
    };
    while (!stopped.aborted && !this.closed) {
      try {
        if (known === undefined) {
          const snap = await this.rangeService(query.service, `watch ${query.service}`);
          known = new Map();
          for (const kv of snap.kvs) {
            const inst = this.instanceOf(kv, query.service);
            if (inst !== undefined) known.set(kv.key, inst);
          }
          revision = snap.revision;
          publish();
        }
        const current = known;
        let resync = false;
        const renew = new AbortController();
        const renewTimer = setTimeout(() => renew.abort(new MeshError('CLOSED', 'watch renewed')), this.opts.watchRenewMs);
        renewTimer.unref?.();
        try {
          await this.http.stream(
            '/v3/watch',
            { create_request: { key: base64Encode(prefix), range_end: prefixRangeEnd(prefix), start_revision: (revision + 1n).toString() } },
            AbortSignal.any([stopped, renew.signal]),
            (msg) => {
              if (msg['error'] !== undefined) throw new MeshError('SERVICE_UNAVAILABLE', `etcd watch ${query.service}: ${JSON.stringify(msg['error']).slice(0, 300)}`);
              const result = msg['result'] as Record<string, unknown> | undefined;
              if (typeof result !== 'object' || result === null) return true;
              // Compacted past our revision, or cancelled by the server: read the snapshot again.
              if (result['canceled'] === true || int64(result['compact_revision'], 'revision') > 0n) {
                resync = true;
                return false;
              }
              if (result['created'] === true) failures = 0;
              const events = result['events'] ?? [];
              if (!Array.isArray(events)) throw new MeshError('BAD_GATEWAY', `etcd watch ${query.service}: events is not a list`);
              for (const ev of events as Record<string, unknown>[]) {
                const kv = readKv(ev?.['kv']);
                if (kv === undefined) continue;
                if (kv.modRevision > revision) revision = kv.modRevision;
                const inst = ev['type'] === 'DELETE' ? undefined : this.instanceOf(kv, query.service);
                if (inst === undefined) current.delete(kv.key);
                else current.set(kv.key, inst);
              }
              if (events.length > 0) publish();
              return true;
            },
            `watch ${query.service}`,
          );
        } finally {
          clearTimeout(renewTimer);
        }
        if (resync) known = undefined;
        // Otherwise the stream ended (renewal, or the server closed it): resume from `revision`.
      } catch (e) {
        if (stopped.aborted || this.closed) return;
        this.reportError(e, `watch ${query.service}`);
        // What happened while the stream was down is read from a fresh snapshot.
        known = undefined;
        await sleep(Math.min(MAX_BACKOFF_MS, 200 * 2 ** Math.min(failures++, 5)), stopped);
      }
    }
  }

  /** Called by a registration's close(): revoke its lease unless the id was registered again since. */
  private async leave(reg: EtcdRegistration): Promise<void> {
    if (this.closed) return;
    if (this.registrations.get(reg.instance.id) !== reg) return;
    this.registrations.delete(reg.instance.id);
    await this.revoke(reg.lease);
  }

  private reportError(e: unknown, what: string): void {
    reportDiscoveryError(this.opts.onError, e, what);
  }

  private assertOpen(): void {
    if (this.closed) throw new MeshError('CLOSED', 'discovery closed');
  }
}

/** A registration that remembers its lease (deregistration revokes it). */
class EtcdRegistration extends HeartbeatRegistration {
  constructor(
    instance: ServiceInstance,
    ttlMs: number,
    readonly lease: string,
    hooks: HeartbeatHooks,
  ) {
    super(instance, ttlMs, hooks);
  }
}

/** Wait `ms`, or less if `signal` aborts first. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    t.unref?.();
    function done(): void {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
