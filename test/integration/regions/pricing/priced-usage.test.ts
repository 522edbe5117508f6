/**
 * Priced usage on real Redis (issue 14 §1): a call record takes the rate in
 * force when it is first written and is billed per started minute at it when
 * it finishes; recordings and media branches are priced per started minute;
 * without a platform deck nothing is priced (null), never zero.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../../regions/core/log.js';
import { loadPlatformDeck } from '../../../../regions/pricing/deck-file.js';
import { PriceDecks } from '../../../../regions/pricing/store.js';
import { CallRecordStore, type CallRecord } from '../../../../regions/store/call-records.js';
import { keys } from '../../../../regions/store/keys.js';
import { RedisRecordingSink } from '../../../../regions/store/recording-sink.js';
import { apiDate } from '../../../../regions/store/schema.js';
import { newSid } from '../../../../regions/store/sids.js';
import { readUsageRows } from '../../../../regions/store/usage.js';
import { BranchUsage } from '../../../../media/edge-recording/usage.js';
import { clearKeys } from '../../../support/redis-keys.js';
import { TEST_REDIS_URL } from '../../global-setup.js';

const PREFIX = 'it-priced-usage:';
let redis: Redis;
let work: string;
const account = { sid: newSid('AC'), parent: newSid('AC') };

beforeAll(async () => {
  await clearKeys(TEST_REDIS_URL, PREFIX);
  redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1, commandTimeout: 2000 });
  work = await mkdtemp(join(tmpdir(), 'priced-usage-'));
  const k = keys(PREFIX);
  // A subaccount and its parent, as the accounts store writes them.
  await redis.set(k.account(account.parent), JSON.stringify({ sid: account.parent, status: 'active', homeRegion: 'us-east' }));
  await redis.set(k.account(account.sid), JSON.stringify({ sid: account.sid, ownerAccountSid: account.parent, status: 'active', homeRegion: 'us-east' }));
});
afterAll(async () => {
  await clearKeys(TEST_REDIS_URL, PREFIX);
  redis?.disconnect();
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

function call(over: Partial<CallRecord> = {}): CallRecord {
  const now = apiDate();
  return { sid: newSid('CA'), accountSid: account.sid, direction: 'outbound-api', from: '+442071234567', to: '+447911123456', status: 'queued', region: 'us-east', dateCreated: now, dateUpdated: now, ...over };
}

describe('priced usage', () => {
  it('without a platform deck a call is not priced: price stays absent (null in the API), the minutes are still counted', async () => {
    const store = new CallRecordStore(redis, PREFIX);
    const errors: unknown[] = [];
    const rec = await store.withRate(call(), (e) => errors.push(e));
    expect(rec.rate).toBeUndefined();
    expect(String(errors[0])).toMatch(/no platform price deck/);
    await store.insert(call({ sid: rec.sid }), Date.now());
    const done = await store.finish(rec.sid, { accountSid: account.sid, category: 'calls-outbound', region: 'us-east', answeredAt: 1_000, endedAt: 31_000, unansweredStatus: 'failed' }, () => {});
    expect(done).toMatchObject({ status: 'completed', duration: 30 });
    expect(done?.price).toBeUndefined();
  });

  it('a call keeps the rate captured when it started: a deck change while it is up does not reprice it', async () => {
    const decks = new PriceDecks(redis, PREFIX);
    await decks.seedPlatform(loadPlatformDeck());
    const store = new CallRecordStore(redis, PREFIX);
    const rec = call();
    await store.insert(rec, Date.now());
    const stored = await store.get(rec.sid);
    // From a UK number to a UK mobile: the platform's origination-restricted +447 entry.
    expect(stored?.rate).toMatchObject({ item: 'voice-outbound', perMinuteMicros: 30000, perCallMicros: 0, priceUnit: 'USD', decidedBy: { deck: 'platform', entry: { prefix: '+447', originationPrefix: '+44' } } });
    // The parent now sets a cheaper override for its subaccount.
    await decks.createEntry(account.sid, { item: 'voice-outbound', prefix: '+447', originationPrefix: '+44', price: '0.0010' }, apiDate());
    const done = await store.finish(rec.sid, { accountSid: account.sid, category: 'calls-outbound', region: 'us-east', answeredAt: 0, endedAt: 121_000, unansweredStatus: 'failed' }, () => {});
    // 121 s = 3 started minutes at 0.03.
    expect(done).toMatchObject({ price: '-0.09000', priceUnit: 'USD', duration: 121 });
    // A new call takes the new rate.
    const next = call();
    await store.insert(next, Date.now());
    expect((await store.get(next.sid))?.rate).toMatchObject({ perMinuteMicros: 1000, decidedBy: { deck: 'account', accountSid: account.sid } });
    // Unanswered calls cost nothing and carry no price.
    const unanswered = await store.finish(next.sid, { accountSid: account.sid, category: 'calls-outbound', region: 'us-east', answeredAt: undefined, endedAt: 5_000, unansweredStatus: 'no-answer' }, () => {});
    expect(unanswered?.price).toBeUndefined();
  });

  it('recordings and media branches are priced per started minute, and their usage carries the price', async () => {
    const src = join(work, 'take.wav');
    await writeFile(src, Buffer.alloc(44 + 16000 * 2));
    const sink = new RedisRecordingSink(redis, PREFIX, 'us-east', join(work, 'recordings'), 'http://127.0.0.1:8080');
    const { recordingSid } = await sink.save({ accountSid: account.sid, callSid: newSid('CA'), source: 'RecordVerb', result: { path: src, durationMs: 61_000, bytes: 44 + 32000 } });
    const recording = JSON.parse((await redis.get(keys(PREFIX).recording(recordingSid)))!);
    // 61 s = 2 minutes at the platform's 0.0025.
    expect(recording).toMatchObject({ price: '-0.00500', priceUnit: 'USD' });

    // A 90 s branch WAV (8 kHz mono 16-bit): 2 minutes at 0.0010.
    await new BranchUsage('us-east', silentLogger, { redis, keyPrefix: PREFIX }).record(account.sid, newSid('CA'), 'caller', 44 + 90 * 16000);
    const rows = await readUsageRows(redis, PREFIX, [account.sid]);
    expect(rows.find((r) => r.category === 'recordings')).toMatchObject({ quantity: 1, priceMicros: 5000 });
    expect(rows.find((r) => r.category === 'media-branches')).toMatchObject({ quantity: 1, priceMicros: 2000 });
    expect(rows.find((r) => r.category === 'calls-outbound')).toMatchObject({ priceMicros: 90000 });
  });
});
