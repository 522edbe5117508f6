/**
 * Keeps a process's registrations alive in discovery whatever discovery does:
 * the caller says which instances it wants announced (`announce`) or gone
 * (`withdraw`); the registrar registers them, and every `reconcileMs` checks
 * that discovery still lists them and repairs what it lost (a Redis that
 * restarted empty, a Consul agent that restarted, an id deregistered by
 * another node). While discovery is unreachable it retries with a backoff
 * that doubles up to `maxBackoffMs`; nothing it does throws into the caller.
 */
import { MeshError } from '../core/errors.js';
import { instanceFingerprint } from './snapshot.js';
import { withTimeout } from '../core/timeout.js';
import type { Discovery, Registration, ServiceInstance } from './types.js';

export interface DiscoveryRegistrarOptions {
  /** Registration TTL; heartbeats go every ttlMs/3. */
  ttlMs: number;
  /** Interval of the check-and-repair pass. Default 2000 ms. */
  reconcileMs?: number;
  /** First retry wait after a failure; doubles per failure. Default 250 ms. */
  minBackoffMs?: number;
  /** Longest retry wait. Default 10000 ms. */
  maxBackoffMs?: number;
  /** Bound on one register/deregister/list as seen from here. Default 3000 ms. */
  timeoutMs?: number;
  /** A call to discovery failed (the caller logs; see DiscoveryErrorLog). */
  onError?: (error: MeshError, what: string) => void;
  /** A call to discovery succeeded (ends an outage in the caller's log). */
  onOk?: () => void;
  now?: () => number;
}

interface Entry {
  desired: ServiceInstance;
  fp: string;
  reg: Registration | undefined;
  /** Fingerprint of what `reg` announced. */
  regFp: string | undefined;
  inFlight: Promise<void> | undefined;
  failures: number;
  nextAttemptAt: number;
}

/** A changed fingerprint (address, capability or meta value) means "announce again". */
export { instanceFingerprint };

export class DiscoveryRegistrar {
  private readonly entries = new Map<string, Entry>();
  private readonly opts: Required<Omit<DiscoveryRegistrarOptions, 'onError' | 'onOk'>> & Pick<DiscoveryRegistrarOptions, 'onError' | 'onOk'>;
  private timer: NodeJS.Timeout | undefined;
  private reconciling: Promise<void> | undefined;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly discovery: Discovery,
    opts: DiscoveryRegistrarOptions,
  ) {
    this.opts = { reconcileMs: 2000, minBackoffMs: 250, maxBackoffMs: 10_000, timeoutMs: 3000, now: Date.now, ...opts };
    this.timer = setInterval(() => void this.reconcile(), this.opts.reconcileMs);
    this.timer.unref?.();
  }

  /** Ids currently wanted. */
  ids(): string[] {
    return [...this.entries.keys()].sort();
  }

  has(id: string): boolean {
    return this.entries.has(id);
  }

  /** True when `id` is wanted and its registration (of the current version) succeeded. */
  isRegistered(id: string): boolean {
    const e = this.entries.get(id);
    return e !== undefined && e.reg !== undefined && e.regFp === e.fp;
  }

  /**
   * Want `instance` announced. A new or changed instance is registered at once
   * (unless a retry wait is running); an unchanged one costs nothing.
   */
  announce(instance: ServiceInstance): void {
    if (this.closing !== undefined) return;
    const fp = instanceFingerprint(instance);
    let e = this.entries.get(instance.id);
    if (e === undefined) {
      e = { desired: instance, fp, reg: undefined, regFp: undefined, inFlight: undefined, failures: 0, nextAttemptAt: 0 };
      this.entries.set(instance.id, e);
    } else {
      if (e.fp === fp) return;
      e.desired = instance;
      e.fp = fp;
    }
    this.ensure(e);
  }

  /**
   * Stop announcing `id` and deregister it now. Never throws: if discovery is
   * unreachable the heartbeats have stopped anyway, so the TTL removes it.
   */
  async withdraw(id: string): Promise<void> {
    const e = this.entries.get(id);
    if (e === undefined) return;
    this.entries.delete(id);
    // A registration still being made is closed when it lands (see ensure).
    const reg = e.reg;
    e.reg = undefined;
    if (reg !== undefined) await this.leave(reg);
  }

  /** Check every registration against discovery now and repair what is missing. */
  reconcile(): Promise<void> {
    if (this.closing !== undefined) return Promise.resolve();
    this.reconciling ??= this.reconcileOnce().finally(() => {
      this.reconciling = undefined;
    });
    return this.reconciling;
  }

  /** Withdraw everything (bounded), stop the timer. Idempotent; never throws. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.timer !== undefined) clearInterval(this.timer);
      this.timer = undefined;
      const ids = [...this.entries.keys()];
      const inFlight = [...this.entries.values()].map((e) => e.inFlight).filter((p): p is Promise<void> => p !== undefined);
      await Promise.allSettled(ids.map((id) => this.withdraw(id)));
      // Registrations that were still being made close themselves when they land.
      await Promise.allSettled(inFlight);
    })();
    return this.closing;
  }

  // ------------------------------------------------------------ internals

  private async reconcileOnce(): Promise<void> {
    const now = this.opts.now();
    // Which registrations does discovery still list? One list per (service, region) we announce in.
    const groups = new Map<string, { service: string; region: string; entries: Entry[] }>();
    for (const e of this.entries.values()) {
      if (e.reg === undefined || e.inFlight !== undefined) continue;
      const key = `${e.desired.service}\u0000${e.desired.region}`;
      let g = groups.get(key);
      if (g === undefined) groups.set(key, (g = { service: e.desired.service, region: e.desired.region, entries: [] }));
      g.entries.push(e);
    }
    for (const g of groups.values()) {
      let listed: Set<string>;
      try {
        const list = await withTimeout(this.discovery.list({ service: g.service, region: g.region }), this.opts.timeoutMs, `discovery list ${g.service}`);
        listed = new Set(list.map((i) => i.id));
        this.opts.onOk?.();
      } catch (e) {
        this.report(e, `check ${g.service} registrations`);
        continue; // keep the registrations; their heartbeats carry on
      }
      for (const e of g.entries) {
        if (this.entries.get(e.desired.id) !== e || e.reg === undefined || e.inFlight !== undefined) continue;
        if (!listed.has(e.desired.id)) {
          // Lost (expired while discovery was away, or removed by someone else): register again.
          e.reg.stopHeartbeats();
          e.reg = undefined;
          e.regFp = undefined;
        }
      }
    }
    for (const e of this.entries.values()) if (e.regFp !== e.fp && e.nextAttemptAt <= now) this.ensure(e);
  }

  private ensure(e: Entry): void {
    if (e.inFlight !== undefined || this.closing !== undefined) return;
    if (e.reg !== undefined && e.regFp === e.fp) return;
    if (e.nextAttemptAt > this.opts.now()) return;
    const instance = e.desired;
    const fp = e.fp;
    e.inFlight = (async () => {
      try {
        const reg = await withTimeout(this.discovery.register(instance, { ttlMs: this.opts.ttlMs }), this.opts.timeoutMs, `register ${instance.id}`);
        this.opts.onOk?.();
        if (this.entries.get(instance.id) !== e || this.closing !== undefined) {
          // Withdrawn meanwhile: take back what just landed.
          await this.leave(reg);
          return;
        }
        e.reg = reg;
        e.regFp = fp;
        e.failures = 0;
        e.nextAttemptAt = 0;
      } catch (err) {
        e.failures++;
        e.nextAttemptAt = this.opts.now() + Math.min(this.opts.maxBackoffMs, this.opts.minBackoffMs * 2 ** Math.min(e.failures - 1, 20));
        this.report(err, `register ${instance.id}`);
      } finally {
        e.inFlight = undefined;
      }
      // Changed again while this registration was in flight: announce the newer version.
      if (this.entries.get(instance.id) === e && e.fp !== fp && e.failures === 0) this.ensure(e);
    })();
  }

  private async leave(reg: Registration): Promise<void> {
    try {
      await withTimeout(reg.close(), this.opts.timeoutMs, `deregister ${reg.instance.id}`);
      this.opts.onOk?.();
    } catch (e) {
      reg.stopHeartbeats();
      this.report(e, `deregister ${reg.instance.id} (its TTL removes it)`);
    }
  }

  private report(e: unknown, what: string): void {
    const err = e instanceof MeshError ? e : new MeshError('SERVICE_UNAVAILABLE', `${what}: ${String(e)}`, { cause: e });
    try {
      this.opts.onError?.(err, what);
    } catch {
      // A failing logger must not stop registrations.
    }
  }
}
