/**
 * The signaling node lease against a real Redis: one holder at a time, a
 * standby takes it only after the active stops renewing, and an active that
 * finds another holder learns it has been replaced.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../regions/core/log.js';
import { SignalingLease } from '../../../signaling/b2bua/lease.js';
import { TEST_REDIS_URL } from '../global-setup.js';

describe('SignalingLease (real Redis)', () => {
  let redis: Redis;
  const key = `it-fo-lease-${Date.now()}:sig-lease:n1`;
  beforeAll(() => {
    redis = new Redis(TEST_REDIS_URL, { commandTimeout: 2000 });
  });
  afterAll(async () => {
    await redis.del(key);
    redis.disconnect();
  });

  it('a standby waits while the active renews, and takes over within a TTL once renewals stop', async () => {
    const active = new SignalingLease(redis, silentLogger, { key, ttlMs: 600, holder: 'active' });
    const standby = new SignalingLease(redis, silentLogger, { key, ttlMs: 600, holder: 'standby' });
    await active.seize();
    active.startRenewing(() => {});
    let taken = false;
    const waiting = standby.waitUntilAcquired().then(() => (taken = true));
    await new Promise((r) => setTimeout(r, 1500)); // 2.5 TTLs: only renewals keep it
    expect(taken).toBe(false);
    expect(await redis.get(key)).toBe('active');

    const stoppedAt = Date.now();
    await active.close({ release: false }); // as if the process died: no renewal, no release
    await waiting;
    const ms = Date.now() - stoppedAt;
    expect(ms).toBeLessThan(600 + 300);
    expect(await redis.get(key)).toBe('standby');
    expect(standby.isHeld).toBe(true);

    // A clean close releases the lease at once.
    await standby.close();
    expect(await redis.get(key)).toBeNull();
  });

  it('an active whose lease was taken by another is told so', async () => {
    const a = new SignalingLease(redis, silentLogger, { key, ttlMs: 600, holder: 'a' });
    await a.seize();
    const lost = new Promise<string | null>((resolve) => a.startRenewing(resolve));
    await redis.set(key, 'b', 'PX', 5000);
    expect(await lost).toBe('b');
    expect(a.isHeld).toBe(false);
    await a.close();
    expect(await redis.get(key)).toBe('b'); // not ours: close leaves it alone
  });
});
