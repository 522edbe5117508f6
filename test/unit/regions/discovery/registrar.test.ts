import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DiscoveryRegistrar } from '../../../../regions/discovery/registrar.js';
import type { ServiceInstance } from '../../../../regions/discovery/types.js';
import { FakeDiscovery } from './fake-discovery.js';

const inst = (id: string, v = '1'): ServiceInstance => ({ id, service: 'media', region: 'eu-west', address: '127.0.2.11', port: 2223, capabilities: ['relay'], meta: { v } });

describe('DiscoveryRegistrar', () => {
  let d: FakeDiscovery;
  let reg: DiscoveryRegistrar;
  let errors: string[];
  let oks: number;
  beforeEach(() => {
    vi.useFakeTimers();
    d = new FakeDiscovery();
    errors = [];
    oks = 0;
    reg = new DiscoveryRegistrar(d, { ttlMs: 3000, reconcileMs: 1000, minBackoffMs: 250, maxBackoffMs: 2000, onError: (_e, what) => errors.push(what), onOk: () => oks++ });
  });
  afterEach(async () => {
    await reg.close();
    vi.useRealTimers();
  });

  it('registers at once and does nothing for an unchanged announcement', async () => {
    reg.announce(inst('m1'));
    await vi.advanceTimersByTimeAsync(0);
    expect(d.listed.has('m1')).toBe(true);
    expect(reg.isRegistered('m1')).toBe(true);
    reg.announce(inst('m1'));
    await vi.advanceTimersByTimeAsync(0);
    expect(d.calls).toEqual(['register m1 1']);
  });

  it('re-registers a changed instance (new load)', async () => {
    reg.announce(inst('m1', '1'));
    await vi.advanceTimersByTimeAsync(0);
    reg.announce(inst('m1', '2'));
    await vi.advanceTimersByTimeAsync(0);
    expect(d.calls).toEqual(['register m1 1', 'register m1 2']);
    expect(d.listed.get('m1')?.meta['v']).toBe('2');
  });

  it('retries with a doubling backoff while discovery is down, then registers once it is back', async () => {
    d.up = false;
    const t0 = Date.now();
    reg.announce(inst('m1'));
    // Waits after each failure: 250, 500, 1000, 2000 (the cap), 2000; retries run on reconcile passes (every 1000 ms).
    await vi.advanceTimersByTimeAsync(9000);
    expect(d.registerAt.map((t) => t - t0)).toEqual([0, 1000, 2000, 3000, 5000, 7000, 9000]);
    const attempts = d.registerAt.length;
    expect(reg.isRegistered('m1')).toBe(false);
    d.up = true;
    await vi.advanceTimersByTimeAsync(2000);
    expect(reg.isRegistered('m1')).toBe(true);
    expect(d.listed.has('m1')).toBe(true);
    expect(errors.length).toBe(attempts);
  });

  it('repairs a registration discovery lost (e.g. Redis restarted empty)', async () => {
    reg.announce(inst('m1'));
    await vi.advanceTimersByTimeAsync(0);
    d.listed.clear();
    await vi.advanceTimersByTimeAsync(1000);
    expect(d.listed.has('m1')).toBe(true);
    expect(d.calls.filter((c) => c === 'register m1 1')).toHaveLength(2);
  });

  it('keeps the registration when the check itself fails (heartbeats carry on)', async () => {
    reg.announce(inst('m1'));
    await vi.advanceTimersByTimeAsync(0);
    d.up = false;
    await vi.advanceTimersByTimeAsync(1000);
    expect(reg.isRegistered('m1')).toBe(true);
    expect(errors).toEqual(['check media registrations']);
  });

  it('withdraws at once, and never throws when discovery is down', async () => {
    reg.announce(inst('m1'));
    reg.announce(inst('m2'));
    await vi.advanceTimersByTimeAsync(0);
    await reg.withdraw('m1');
    expect(d.listed.has('m1')).toBe(false);
    d.up = false;
    await expect(reg.withdraw('m2')).resolves.toBeUndefined();
    expect(reg.has('m2')).toBe(false);
    expect(errors.some((e) => e.startsWith('deregister m2'))).toBe(true);
  });

  it('takes back a registration that lands after it was withdrawn', async () => {
    let open!: () => void;
    d.gate = new Promise((r) => (open = r));
    reg.announce(inst('m1'));
    await vi.advanceTimersByTimeAsync(0);
    const withdrawn = reg.withdraw('m1');
    open();
    await withdrawn;
    await vi.advanceTimersByTimeAsync(0);
    expect(d.listed.has('m1')).toBe(false);
    expect(d.calls).toEqual(['register m1 1', 'deregister m1']);
  });

  it('close() withdraws everything and ignores later announcements', async () => {
    reg.announce(inst('m1'));
    reg.announce({ ...inst('s1'), service: 'signaling' });
    await vi.advanceTimersByTimeAsync(0);
    await reg.close();
    expect(d.listed.size).toBe(0);
    reg.announce(inst('m3'));
    await vi.advanceTimersByTimeAsync(5000);
    expect(d.listed.size).toBe(0);
    expect(oks).toBeGreaterThan(0);
  });
});
