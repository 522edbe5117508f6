/**
 * Which application runs an inbound call, read from real Redis the way the
 * control plane writes it: numbers without an application are routed as
 * before (whatever their account), an application's URLs and timeout win
 * over the number's, and a suspended or missing account refuses the call.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applicationKey, type ApplicationRecord } from '../../../../regions/store/applications.js';
import { keys } from '../../../../regions/store/keys.js';
import type { IncomingNumberRecord } from '../../../../regions/store/numbers.js';
import type { AccountRecord } from '../../../../regions/store/schema.js';
import { AppResolver } from '../../../../signaling/calls/app-resolver.js';
import { TEST_REDIS_URL } from '../../global-setup.js';
import { clearKeys } from '../../../support/redis-keys.js';

const PREFIX = 'it-app-resolver:';
const k = keys(PREFIX);
const now = 'Mon, 23 Nov 2026 00:00:00 +0000';

describe('AppResolver', () => {
  let redis: Redis;
  let resolver: AppResolver;

  async function number(e164: string, fields: Partial<IncomingNumberRecord>): Promise<void> {
    const sid = `PN${e164.replace(/\D/g, '').padStart(32, '0')}`;
    const rec: IncomingNumberRecord = { sid, accountSid: 'AC1', phoneNumber: e164, friendlyName: e164, homeRegion: 'us-east', dateCreated: now, dateUpdated: now, ...fields };
    await redis.set(k.number(sid), JSON.stringify(rec));
    await redis.set(k.numberByE164(e164), sid);
  }

  async function account(sid: string, status: AccountRecord['status']): Promise<void> {
    const rec: AccountRecord = { sid, authToken: 'f'.repeat(32), friendlyName: sid, status, homeRegion: 'us-east', dateCreated: now, dateUpdated: now };
    await redis.set(k.account(sid), JSON.stringify(rec));
  }

  beforeAll(async () => {
    await clearKeys(TEST_REDIS_URL, PREFIX);
    redis = new Redis(TEST_REDIS_URL);
    resolver = new AppResolver(redis, PREFIX);
    await account('AC1', 'active');
    await account('AC2', 'suspended');
    const app: ApplicationRecord = {
      sid: 'AP1', accountSid: 'AC1', friendlyName: 'a', voiceUrl: 'http://app/voice', voiceMethod: 'GET',
      voiceFallbackUrl: 'http://app/fallback', voiceFallbackMethod: 'POST', statusCallback: 'http://app/status', statusCallbackMethod: 'POST',
      voiceTimeout: 3, tags: ['campaign', 'eu'], dateCreated: now, dateUpdated: now,
    };
    await redis.set(applicationKey(PREFIX, 'AP1'), JSON.stringify(app));
  });
  afterAll(() => redis.disconnect());

  it('a number without an application is not ours to run, even when its account is unknown', async () => {
    await number('+15550000001', { accountSid: 'AC-none' });
    expect(await resolver.resolve('+15550000001')).toEqual({ kind: 'none' });
    expect(await resolver.resolve('+19999999999')).toEqual({ kind: 'none' });
  });

  it('the application’s URLs, methods and timeout; the number is found with or without the +', async () => {
    await number('+15550000002', { applicationSid: 'AP1', voiceUrl: 'http://number/ignored', tags: ['print', 'eu'] });
    const r = await resolver.resolve('15550000002');
    expect(r).toMatchObject({
      kind: 'app',
      binding: {
        accountSid: 'AC1',
        applicationSid: 'AP1',
        app: { url: 'http://app/voice', method: 'GET', fallbackUrl: 'http://app/fallback', fallbackMethod: 'POST', timeoutMs: 3000 },
        statusCallback: { url: 'http://app/status', method: 'POST' },
        // The call carries the number's and the application's tags, once each, sorted.
        tags: ['campaign', 'eu', 'print'],
      },
    });
  });

  it('a number’s own VoiceUrl with the default 5 s timeout', async () => {
    await number('+15550000003', { voiceUrl: 'http://number/voice', voiceMethod: 'POST' });
    expect(await resolver.resolve('+15550000003')).toMatchObject({ kind: 'app', binding: { applicationSid: undefined, app: { url: 'http://number/voice', timeoutMs: 5000 }, tags: [] } });
  });

  it('refuses calls for a suspended account, a missing account or a missing application', async () => {
    await number('+15550000004', { accountSid: 'AC2', voiceUrl: 'http://x/' });
    await number('+15550000005', { accountSid: 'AC-gone', voiceUrl: 'http://x/' });
    await number('+15550000006', { applicationSid: 'AP-gone' });
    expect(await resolver.resolve('+15550000004')).toMatchObject({ kind: 'refused', reason: expect.stringContaining('suspended') });
    expect(await resolver.resolve('+15550000005')).toMatchObject({ kind: 'refused', reason: expect.stringContaining('not found') });
    expect(await resolver.resolve('+15550000006')).toMatchObject({ kind: 'refused', reason: expect.stringContaining('AP-gone') });
  });
});
