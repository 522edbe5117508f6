/**
 * Pricing of B2BUA calls to a tenant's number (issue 14 §1) on real Redis:
 * the inbound rate (by the number's type) is captured when the call is
 * answered and consumed when it ends; a number homed in another region is
 * left to its home.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../../regions/core/log.js';
import { loadPlatformDeck } from '../../../../regions/pricing/deck-file.js';
import { PriceDecks } from '../../../../regions/pricing/store.js';
import { CallRecordStore } from '../../../../regions/store/call-records.js';
import { keys } from '../../../../regions/store/keys.js';
import { NumberStore } from '../../../../regions/store/numbers.js';
import { apiDate } from '../../../../regions/store/schema.js';
import { newSid } from '../../../../regions/store/sids.js';
import { inboundAccounting, inboundRateCapture } from '../../../../signaling/calls/inbound-accounting.js';
import { clearKeys } from '../../../support/redis-keys.js';
import { TEST_REDIS_URL } from '../../global-setup.js';

const PREFIX = 'it-inbound-price:';
let redis: Redis;
const account = { sid: newSid('AC') };

beforeAll(async () => {
  await clearKeys(TEST_REDIS_URL, PREFIX);
  redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1, commandTimeout: 2000 });
  await redis.set(keys(PREFIX).account(account.sid), JSON.stringify({ sid: account.sid, status: 'active', homeRegion: 'us-east' }));
  await new PriceDecks(redis, PREFIX).seedPlatform(loadPlatformDeck());
});
afterAll(async () => {
  await clearKeys(TEST_REDIS_URL, PREFIX);
  redis?.disconnect();
});

describe('B2BUA calls to a tenant number', () => {
  it('capture the inbound rate at answer (by number type) and are priced with it when they end; a number homed elsewhere is left to its home', async () => {
    const now = apiDate();
    const numbers = new NumberStore(redis, PREFIX);
    // A UK mobile number of the subaccount, homed in us-east.
    await numbers.create({ sid: newSid('PN'), accountSid: account.sid, phoneNumber: '+447700900123', friendlyName: 'm', homeRegion: 'us-east', dateCreated: now, dateUpdated: now }, Date.now());
    await numbers.create({ sid: newSid('PN'), accountSid: account.sid, phoneNumber: '+447700900124', friendlyName: 'e', homeRegion: 'eu-west', dateCreated: now, dateUpdated: now }, Date.now());
    const capture = inboundRateCapture(redis, PREFIX, 'us-east', silentLogger);
    const accounting = inboundAccounting(redis, PREFIX, 'us-east', 'it-sig', silentLogger);
    const sid = newSid('CA');
    capture({ sid, to: '+447700900123' });
    const k = keys(PREFIX);
    const captured = await (async () => {
      for (let i = 0; i < 50; i++) {
        const v = await redis.get(k.callRate(sid));
        if (v !== null) return JSON.parse(v);
        await new Promise((r) => setTimeout(r, 20));
      }
      return undefined;
    })();
    expect(captured).toMatchObject({ item: 'voice-inbound-mobile', perMinuteMicros: 10000, decidedBy: { deck: 'platform' } });
    const elsewhere = newSid('CA');
    capture({ sid: elsewhere, to: '+447700900124' });

    accounting({ sid, from: 'carrier', to: '+447700900123', createdAt: 0, answeredAt: 1_000, endedAt: 62_000, reason: 'bye-from-a', forwardedHome: false, traceKey: 'x' });
    const rec = await (async () => {
      for (let i = 0; i < 50; i++) {
        const r = await new CallRecordStore(redis, PREFIX).get(sid);
        if (r !== undefined) return r;
        await new Promise((res) => setTimeout(res, 20));
      }
      return undefined;
    })();
    // 61 s = 2 minutes at the platform's UK mobile inbound 0.0100; the captured rate is consumed.
    expect(rec).toMatchObject({ direction: 'inbound', status: 'completed', duration: 61, price: '-0.02000', priceUnit: 'USD' });
    expect(await redis.exists(k.callRate(sid))).toBe(0);
    await new Promise((r) => setTimeout(r, 100));
    expect(await redis.exists(k.callRate(elsewhere))).toBe(0);
  });
});
