/** Digit routes (regions/store/digit-routes.ts) on real Redis: written with a TTL, read back, deleted; bad ids refused before any key. */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeDigitRoute, DIGIT_ROUTE_TTL_S, openDigitRoute, readDigitRoute } from '../../../../regions/store/digit-routes.js';
import { keys } from '../../../../regions/store/keys.js';
import { clearKeys } from '../../../support/redis-keys.js';
import { TEST_REDIS_URL } from '../../global-setup.js';

const PREFIX = 'it-digit-routes:';
let redis: Redis;

beforeAll(async () => {
  await clearKeys(TEST_REDIS_URL, PREFIX);
  redis = new Redis(TEST_REDIS_URL);
});
afterAll(() => redis?.disconnect());

describe('digit routes', () => {
  it('open, read, close', async () => {
    const callId = 'a84b4c76e66710@pc33.example';
    expect(await readDigitRoute(redis, PREFIX, callId)).toBeUndefined();
    await openDigitRoute(redis, PREFIX, callId, 'eu-west');
    expect(await readDigitRoute(redis, PREFIX, callId)).toBe('eu-west');
    const ttl = await redis.ttl(keys(PREFIX).digitRoute(callId));
    expect(ttl).toBeGreaterThan(DIGIT_ROUTE_TTL_S - 5);
    expect(ttl).toBeLessThanOrEqual(DIGIT_ROUTE_TTL_S);
    await closeDigitRoute(redis, PREFIX, callId);
    await closeDigitRoute(redis, PREFIX, callId);
    expect(await readDigitRoute(redis, PREFIX, callId)).toBeUndefined();
  });

  it('refuses call-ids and regions that are not ids, and ignores a stored value that is not a region id', async () => {
    await expect(openDigitRoute(redis, PREFIX, 'has space', 'eu-west')).rejects.toThrow(/call-id/);
    await expect(openDigitRoute(redis, PREFIX, 'x'.repeat(257), 'eu-west')).rejects.toThrow(/call-id/);
    await expect(openDigitRoute(redis, PREFIX, 'ok@host', 'eu west')).rejects.toThrow(/region/);
    expect(await readDigitRoute(redis, PREFIX, 'bad\r\nid')).toBeUndefined();
    await redis.set(keys(PREFIX).digitRoute('junk@host'), 'not a region!');
    expect(await readDigitRoute(redis, PREFIX, 'junk@host')).toBeUndefined();
  });
});
