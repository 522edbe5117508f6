/**
 * Carrier admission: once the operator configures carriers for the region,
 * only their source addresses (and number prefixes) may send INVITEs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keys } from '../../../../regions/store/keys.js';
import { apiDate, type CarrierRecord } from '../../../../regions/store/schema.js';
import { runSipp, startSipp, type SippInstance } from '../../../support/sipp.js';
import { CALLEE, CARRIER, SIG, startTestRegion, type TestRegion } from './harness.js';

const PREFIX = 'it-carriers:';

describe('B2BUA carrier admission', () => {
  let region: TestRegion;
  let uas: SippInstance;
  beforeAll(async () => {
    region = await startTestRegion({ keyPrefix: PREFIX });
    uas = await startSipp({ scenario: 'uas-echo.xml', localAddress: CALLEE.address, localPort: CALLEE.port, mediaPort: 22000, timeoutMs: 120_000 });
    await uas.ready;
  });
  afterAll(async () => {
    await uas?.stop(500);
    await region?.close();
  });

  async function setCarriers(list: Omit<CarrierRecord, 'dateCreated' | 'region'>[]): Promise<void> {
    const k = keys(PREFIX);
    const redis = region.node.redis;
    await redis.del(k.regionCarriers('us-east'));
    for (const c of list) {
      await redis.set(k.carrier(c.sid), JSON.stringify({ ...c, region: 'us-east', dateCreated: apiDate() }));
      await redis.sadd(k.regionCarriers('us-east'), c.sid);
    }
    await region.node.reloadCarriers();
  }

  const calls = (scenario: string, service = '+15551230000') =>
    runSipp({
      scenario,
      target: `${SIG.address}:${SIG.port}`,
      localAddress: CARRIER.address,
      localPort: CARRIER.port,
      mediaPort: 20000,
      service,
      calls: 2,
      rate: 10,
      callDurationMs: 100,
      timeoutMs: 30_000,
    });

  it('with no carriers configured every source is admitted (embedded default)', async () => {
    await setCarriers([]);
    const res = await calls('uac-nomedia.xml');
    expect(res.successfulCalls, res.errorsTail).toBe(2);
  });

  it('a source outside every carrier gets 403; the carrier’s own block is admitted', async () => {
    await setCarriers([{ sid: `CR${'1'.repeat(32)}`, name: 'other', allowedSources: ['127.0.4.200/32'], prefixes: [] }]);
    const before = region.node.b2bua.counters.failures[403] ?? 0;
    const refused = await calls('uac-expect-403.xml');
    expect(refused.successfulCalls, refused.errorsTail).toBe(2);
    expect((region.node.b2bua.counters.failures[403] ?? 0) - before).toBe(2);

    await setCarriers([{ sid: `CR${'2'.repeat(32)}`, name: 'carrier-a', allowedSources: ['127.0.4.0/24'], prefixes: ['+1555'] }]);
    const admitted = await calls('uac-nomedia.xml');
    expect(admitted.successfulCalls, admitted.errorsTail).toBe(2);
  });

  it('a carrier restricted to prefixes cannot send other numbers', async () => {
    await setCarriers([{ sid: `CR${'3'.repeat(32)}`, name: 'carrier-b', allowedSources: ['127.0.4.2'], prefixes: ['+1777'] }]);
    const refused = await calls('uac-expect-403.xml', '+15551230000');
    expect(refused.successfulCalls, refused.errorsTail).toBe(2);
    await setCarriers([]);
  });
});
