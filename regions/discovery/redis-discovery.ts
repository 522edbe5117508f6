/**
 * Discovery on Redis (the embedded default). An instance is healthy while its
 * deadline in the per-service sorted set lies in the future; each heartbeat
 * (every ttl/3) pushes the deadline to now + ttl. Deadlines, not key expiry,
 * decide health, so `list` is exact even if Redis has not yet evicted a key,
 * and nothing depends on keyspace notifications (often disabled).
 *
 * Watchers learn of changes two ways: pub/sub messages published by the
 * scripts (register, deregister, reaped), and a poll every pollIntervalMs that
 * reaps instances past their deadline and re-lists — the fallback that makes a
 * crashed instance disappear even though nobody announces its death, and that
 * repairs any pub/sub message lost during a reconnect.
 */
import { Redis } from 'ioredis';
import { MeshError } from '../core/errors.js';
import { DEREGISTER_LUA, HEARTBEAT_LUA, LIST_LUA, REAP_LUA } from './redis-scripts.js';
import { SnapshotDiff, matchesQuery, sortById, validateInstance } from './snapshot.js';
import { withTimeout } from '../core/timeout.js';
import { HeartbeatRegistration, reportDiscoveryError } from './heartbeat-registration.js';
import type { Discovery, DiscoveryQuery, RegisterOptions, Registration, ServiceInstance, Unwatch, WatchCallback } from './types.js';

export interface RedisDiscoveryOptions {
  /** e.g. redis://127.0.0.1:6379 */
  url: string;
  /** Prefix of every key and the channel. Default 'mesh:disc:'. */
  keyPrefix?: string;
  /** Timeout of every Redis call. Default 1000 ms. */
  commandTimeoutMs?: number;
  /** Watchers' poll (reap + re-list) interval. Default 250 ms. */
  pollIntervalMs?: number;
  /** Most instances returned per service. Default 10 000. */
  maxInstancesPerService?: number;
  /** Failures of background work (heartbeats, polls), for logging. Default: ignored. */
  onError?: (error: MeshError, what: string) => void;
}

type ScriptFn = (...args: (string | number)[]) => Promise<unknown>;

interface Watcher {
  query: DiscoveryQuery;
  diff: SnapshotDiff;
  cb: WatchCallback;
}

const MIN_TTL_MS = 300;

export class RedisDiscovery implements Discovery {
  private readonly opts: Required<Omit<RedisDiscoveryOptions, 'onError'>> & Pick<RedisDiscoveryOptions, 'onError'>;
  private readonly redis: Redis;
  private sub: Redis | undefined;
  private readonly registrations = new Map<string, HeartbeatRegistration>();
  private readonly watchers = new Set<Watcher>();
  private pollTimer: NodeJS.Timeout | undefined;
  private readonly refreshing = new Map<string, Promise<void>>();
  private readonly refreshAgain = new Set<string>();
  private closed = false;

  constructor(opts: RedisDiscoveryOptions) {
    this.opts = {
      keyPrefix: 'mesh:disc:',
      commandTimeoutMs: 1000,
      pollIntervalMs: 250,
      maxInstancesPerService: 10_000,
      ...opts,
    };
    this.redis = this.connect();
    for (const [name, lua, keys] of [
      ['meshDiscHeartbeat', HEARTBEAT_LUA, 3],
      ['meshDiscList', LIST_LUA, 1],
      ['meshDiscReap', REAP_LUA, 1],
      ['meshDiscDeregister', DEREGISTER_LUA, 1],
    ] as const) {
      this.redis.defineCommand(name, { lua, numberOfKeys: keys });
    }
  }

  async register(instance: ServiceInstance, opts: RegisterOptions): Promise<Registration> {
    this.assertOpen();
    const bad = validateInstance(instance);
    if (bad !== undefined) throw new MeshError('BAD_REQUEST', `cannot register instance: ${bad}`);
    if (!(opts.ttlMs >= MIN_TTL_MS)) throw new MeshError('BAD_REQUEST', `ttlMs must be >= ${MIN_TTL_MS}`);
    const inst: ServiceInstance = { ...instance, capabilities: [...instance.capabilities], meta: { ...instance.meta } };
    // Re-registering the same id replaces the old heartbeat loop.
    this.registrations.get(inst.id)?.stopHeartbeats();
    const reg = new HeartbeatRegistration(inst, opts.ttlMs, {
      beat: () => this.heartbeat(inst, opts.ttlMs, 'refresh'),
      leave: (r) => this.leave(r),
      reportError: (e, what) => this.reportError(e, what),
    });
    await this.heartbeat(inst, opts.ttlMs, 'register');
    this.registrations.set(inst.id, reg);
    reg.startHeartbeats();
    return reg;
  }

  async deregister(id: string): Promise<void> {
    this.assertOpen();
    const local = this.registrations.get(id);
    local?.stopHeartbeats();
    this.registrations.delete(id);
    const p = this.opts.keyPrefix;
    await this.call('meshDiscDeregister', `deregister ${id}`, `${p}index`, `${p}inst:`, `${p}svc:`, `${p}events`, id);
  }

  async list(query: DiscoveryQuery): Promise<ServiceInstance[]> {
    this.assertOpen();
    const p = this.opts.keyPrefix;
    const raw = (await this.call('meshDiscList', `list ${query.service}`, `${p}svc:${query.service}`, `${p}inst:`, this.opts.maxInstancesPerService)) as string[];
    const out: ServiceInstance[] = [];
    for (const json of raw) {
      try {
        const inst = JSON.parse(json) as ServiceInstance;
        if (matchesQuery(inst, query)) out.push(inst);
      } catch {
        // Not ours or corrupt: skip rather than fail every lookup.
      }
    }
    return sortById(out);
  }

  watch(query: DiscoveryQuery, cb: WatchCallback): Unwatch {
    this.assertOpen();
    const w: Watcher = { query: { ...query }, diff: new SnapshotDiff(), cb };
    this.watchers.add(w);
    this.ensureSubscribed();
    this.ensurePolling();
    void this.refresh(query.service);
    return () => {
      this.watchers.delete(w);
      if (this.watchers.size === 0 && this.pollTimer !== undefined) {
        clearInterval(this.pollTimer);
        this.pollTimer = undefined;
      }
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const r of this.registrations.values()) r.stopHeartbeats();
    this.registrations.clear();
    this.watchers.clear();
    if (this.pollTimer !== undefined) clearInterval(this.pollTimer);
    this.pollTimer = undefined;
    this.sub?.disconnect();
    this.redis.disconnect();
  }

  /**
   * One heartbeat: announce the instance with a fresh deadline. A 'refresh'
   * resolves false when the id was deregistered meanwhile (heartbeats then stop).
   */
  async heartbeat(inst: ServiceInstance, ttlMs: number, mode: 'register' | 'refresh'): Promise<boolean> {
    this.assertOpen();
    const p = this.opts.keyPrefix;
    const r = await this.call(
      'meshDiscHeartbeat',
      `heartbeat ${inst.id}`,
      `${p}inst:${inst.id}`,
      `${p}svc:${inst.service}`,
      `${p}index`,
      JSON.stringify(inst),
      ttlMs,
      inst.id,
      inst.service,
      `${p}events`,
      mode,
    );
    return r !== -1;
  }

  /** Called by a registration's close(): stop + deregister unless someone re-registered the id. */
  async leave(reg: HeartbeatRegistration): Promise<void> {
    if (this.closed) return;
    if (this.registrations.get(reg.instance.id) === reg) await this.deregister(reg.instance.id);
  }

  reportError(e: unknown, what: string): void {
    reportDiscoveryError(this.opts.onError, e, what);
  }

  private connect(): Redis {
    const r = new Redis(this.opts.url, {
      commandTimeout: this.opts.commandTimeoutMs,
      connectTimeout: Math.max(1000, this.opts.commandTimeoutMs),
      maxRetriesPerRequest: 1,
      // Keep reconnecting in the background; calls meanwhile fail within their timeout.
      retryStrategy: (times) => Math.min(50 * times, 2000),
    });
    r.on('error', (e: Error) => this.reportError(e, 'redis connection'));
    return r;
  }

  private call(name: string, what: string, ...args: (string | number)[]): Promise<unknown> {
    const fn = (this.redis as unknown as Record<string, ScriptFn>)[name];
    if (fn === undefined) return Promise.reject(new MeshError('INTERNAL', `redis script ${name} not defined`));
    return withTimeout(fn.apply(this.redis, args), this.opts.commandTimeoutMs, `discovery ${what}`);
  }

  private assertOpen(): void {
    if (this.closed) throw new MeshError('CLOSED', 'discovery closed');
  }

  private ensureSubscribed(): void {
    if (this.sub !== undefined) return;
    const sub = this.connect();
    this.sub = sub;
    sub.on('message', (_channel: string, message: string) => {
      try {
        const ev = JSON.parse(message) as { service?: unknown };
        if (typeof ev.service === 'string') void this.refresh(ev.service);
      } catch {
        // Ignore foreign messages on our channel.
      }
    });
    sub.subscribe(`${this.opts.keyPrefix}events`).catch((e: unknown) => this.reportError(e, 'subscribe'));
  }

  private ensurePolling(): void {
    if (this.pollTimer !== undefined) return;
    this.pollTimer = setInterval(() => void this.poll(), this.opts.pollIntervalMs);
    this.pollTimer.unref?.();
  }

  private async poll(): Promise<void> {
    const services = new Set([...this.watchers].map((w) => w.query.service));
    const p = this.opts.keyPrefix;
    for (const service of services) {
      try {
        await this.call('meshDiscReap', `reap ${service}`, `${p}svc:${service}`, `${p}inst:`, `${p}events`, service);
      } catch (e) {
        this.reportError(e, `reap ${service}`);
      }
      void this.refresh(service);
    }
  }

  /** Re-list a service for its watchers. Coalesced: at most one in flight plus one queued per service. */
  private refresh(service: string): Promise<void> {
    const inFlight = this.refreshing.get(service);
    if (inFlight !== undefined) {
      this.refreshAgain.add(service);
      return inFlight;
    }
    const run = (async () => {
      try {
        const watchers = [...this.watchers].filter((w) => w.query.service === service);
        if (watchers.length === 0 || this.closed) return;
        let all: ServiceInstance[];
        try {
          all = await this.list({ service });
        } catch (e) {
          this.reportError(e, `watch ${service}`);
          return; // the next poll tries again
        }
        for (const w of watchers) {
          if (!this.watchers.has(w)) continue;
          const change = w.diff.next(all.filter((i) => matchesQuery(i, w.query)));
          if (change === undefined) continue;
          try {
            w.cb(change);
          } catch (e) {
            this.reportError(e, `watch callback ${service}`);
          }
        }
      } finally {
        this.refreshing.delete(service);
        if (this.refreshAgain.delete(service)) void this.refresh(service);
      }
    })();
    this.refreshing.set(service, run);
    return run;
  }
}
