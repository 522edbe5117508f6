/**
 * The one contract every Discovery adapter passes (RedisDiscovery and
 * EtcdDiscovery on every run, ConsulDiscovery when CONSUL_HTTP_ADDR is set). Each case uses fresh service
 * names, so runs never see each other's instances, and two adapter objects,
 * so what one node registers is checked from another node's point of view.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { isMeshError } from '../../../../regions/core/errors.js';
import type { Discovery, DiscoveryChange, Registration, ServiceInstance } from '../../../../regions/discovery/types.js';
import { sleep, waitFor } from '../helpers.js';

export interface ContractOptions {
  /** TTL used for registrations; the adapter's minimum or a little above. */
  ttlMs: number;
  /**
   * Why the suite cannot run here, when it cannot: it is then reported as
   * skipped (never as passed) under a title that carries this reason.
   */
  notRunBecause?: string;
  /** Extra time the backend may need to notice an expiry, on top of the TTL. */
  expirySlackMs?: number;
}

export function discoveryContract(name: string, makeAdapter: () => Discovery, opts: ContractOptions): void {
  const { ttlMs } = opts;
  const slack = opts.expirySlackMs ?? 1000;

  const notRun = opts.notRunBecause;
  const title = notRun === undefined ? `Discovery contract: ${name}` : `Discovery contract: ${name} — ${notRun}`;
  describe.skipIf(notRun !== undefined)(title, () => {
    const adapters: Discovery[] = [];
    const adapter = (): Discovery => {
      const d = makeAdapter();
      adapters.push(d);
      return d;
    };
    afterEach(async () => {
      // Deregister what the case left, then close, so no heartbeat outlives the case.
      await Promise.allSettled(adapters.map((d) => d.close()));
      adapters.length = 0;
    });

    const uniq = (): string => randomBytes(4).toString('hex');
    const instance = (service: string, id: string, region: string, caps: string[], extra: Partial<ServiceInstance> = {}): ServiceInstance => ({
      id,
      service,
      region,
      address: '127.0.9.20',
      port: 20000 + (id.length % 100),
      capabilities: caps,
      meta: { ngPort: '22222' },
      ...extra,
    });
    const ids = (list: ServiceInstance[]): string[] => list.map((i) => i.id);

    it('lists registered instances by service, region and capability, as another node sees them', async () => {
      const a = adapter();
      const b = adapter();
      const svc = `media-${uniq()}`;
      const other = `signaling-${uniq()}`;
      const u = uniq();
      await a.register(instance(svc, `us-1-${u}`, 'us-east', ['relay', 'play']), { ttlMs });
      await a.register(instance(svc, `us-2-${u}`, 'us-east', ['relay', 'record']), { ttlMs });
      await a.register(instance(svc, `eu-1-${u}`, 'eu-west', ['relay']), { ttlMs });
      await a.register(instance(other, `sig-${u}`, 'us-east', ['relay']), { ttlMs });

      expect(ids(await b.list({ service: svc }))).toEqual([`eu-1-${u}`, `us-1-${u}`, `us-2-${u}`]);
      expect(ids(await b.list({ service: svc, region: 'us-east' }))).toEqual([`us-1-${u}`, `us-2-${u}`]);
      expect(ids(await b.list({ service: svc, capability: 'record' }))).toEqual([`us-2-${u}`]);
      expect(ids(await b.list({ service: svc, region: 'eu-west', capability: 'play' }))).toEqual([]);
      expect(ids(await b.list({ service: other }))).toEqual([`sig-${u}`]);

      const [first] = await b.list({ service: svc, region: 'eu-west' });
      expect(first).toEqual(instance(svc, `eu-1-${u}`, 'eu-west', ['relay']));
    });

    it('drops an instance whose heartbeats stop once its TTL runs out, and keeps one that beats', async () => {
      const a = adapter();
      const b = adapter();
      const svc = `media-${uniq()}`;
      const dying = await a.register(instance(svc, `dying-${uniq()}`, 'us-east', ['relay']), { ttlMs });
      const alive = await a.register(instance(svc, `alive-${uniq()}`, 'us-east', ['relay']), { ttlMs });
      expect(ids(await b.list({ service: svc })).sort()).toEqual([alive.instance.id, dying.instance.id].sort());

      const stoppedAt = Date.now();
      dying.stopHeartbeats();
      const deadline = stoppedAt + ttlMs + slack;
      let listed = ids(await b.list({ service: svc }));
      while (listed.includes(dying.instance.id) && Date.now() < deadline) {
        await sleep(50);
        listed = ids(await b.list({ service: svc }));
      }
      expect(listed).toEqual([alive.instance.id]);
      // The beating one outlives several TTLs.
      await sleep(Math.max(0, stoppedAt + 2 * ttlMs - Date.now()));
      expect(ids(await b.list({ service: svc }))).toEqual([alive.instance.id]);
    });

    it('deregisters by id and by closing the registration; an unknown id is not an error', async () => {
      const a = adapter();
      const b = adapter();
      const svc = `media-${uniq()}`;
      const r1 = await a.register(instance(svc, `one-${uniq()}`, 'us-east', ['relay']), { ttlMs });
      const r2 = await a.register(instance(svc, `two-${uniq()}`, 'us-east', ['relay']), { ttlMs });
      await b.deregister(r1.instance.id);
      expect(ids(await b.list({ service: svc }))).toEqual([r2.instance.id]);
      await r2.close();
      await r2.close();
      expect(await b.list({ service: svc })).toEqual([]);
      await expect(b.deregister(`nobody-${uniq()}`)).resolves.toBeUndefined();
      // A deregistered instance stays gone (its heartbeats stopped with it).
      await sleep(ttlMs);
      expect(await b.list({ service: svc })).toEqual([]);
    });

    it('watch reports the current set, then additions and removals (expiry included), filtered by the query', async () => {
      const a = adapter();
      const b = adapter();
      const svc = `media-${uniq()}`;
      const changes: DiscoveryChange[] = [];
      const unwatch = b.watch({ service: svc, region: 'eu-west', capability: 'record' }, (c) => changes.push(c));
      await waitFor(() => changes.length >= 1, 5000, 'initial snapshot');
      expect(changes[0]?.instances).toEqual([]);

      const u = uniq();
      const rec = await a.register(instance(svc, `rec-${u}`, 'eu-west', ['relay', 'record']), { ttlMs });
      await a.register(instance(svc, `norec-${u}`, 'eu-west', ['relay']), { ttlMs });
      await a.register(instance(svc, `us-${u}`, 'us-east', ['record']), { ttlMs });
      const rec2 = await a.register(instance(svc, `rec2-${u}`, 'eu-west', ['record']), { ttlMs });
      await waitFor(() => ids(changes.at(-1)?.instances ?? []).length === 2, ttlMs + slack, 'both additions');
      const added = changes.flatMap((c) => ids(c.added));
      expect(added.sort()).toEqual([`rec-${u}`, `rec2-${u}`]);

      const stoppedAt = Date.now();
      rec.stopHeartbeats();
      await waitFor(() => changes.some((c) => ids(c.removed).includes(`rec-${u}`)), ttlMs + slack, 'expiry seen by watcher');
      expect(Date.now() - stoppedAt).toBeLessThanOrEqual(ttlMs + slack);
      expect(ids(changes.at(-1)?.instances ?? [])).toEqual([`rec2-${u}`]);

      await rec2.close();
      await waitFor(() => changes.some((c) => ids(c.removed).includes(`rec2-${u}`)), slack + ttlMs, 'deregistration seen by watcher');
      expect(changes.at(-1)?.instances).toEqual([]);

      unwatch();
      const seen = changes.length;
      await a.register(instance(svc, `late-${u}`, 'eu-west', ['record']), { ttlMs });
      await sleep(Math.min(1000, ttlMs));
      expect(changes.length).toBe(seen);
    });

    it('close is idempotent and later calls fail with CLOSED', async () => {
      const a = adapter();
      const svc = `media-${uniq()}`;
      const reg: Registration = await a.register(instance(svc, `x-${uniq()}`, 'us-east', ['relay']), { ttlMs });
      await a.close();
      await a.close();
      await expect(a.list({ service: svc })).rejects.toSatisfy((e: unknown) => isMeshError(e, 'CLOSED'));
      await expect(a.register(reg.instance, { ttlMs })).rejects.toSatisfy((e: unknown) => isMeshError(e, 'CLOSED'));
      // Closing a registration of a closed adapter does nothing and does not throw.
      await expect(reg.close()).resolves.toBeUndefined();
    });

    it('refuses malformed instances', async () => {
      const a = adapter();
      await expect(a.register(instance('media', 'bad id with spaces', 'us-east', []), { ttlMs })).rejects.toSatisfy((e: unknown) =>
        isMeshError(e, 'BAD_REQUEST'),
      );
    });
  });
}
