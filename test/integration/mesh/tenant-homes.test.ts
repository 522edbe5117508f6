/**
 * Home region from tenant data (issue 11, item 2), across three in-process
 * regions with real Redis, rtpengine and SIPp. Every node has the same static
 * rules (`+1555` → us-east, `+9180` → ap-south). The carrier's calls enter
 * us-east:
 * - a number created through the tenant API for an account homed in eu-west
 *   (a `+1555…` number, which the static rules would keep in us-east) is
 *   forwarded and anchored in eu-west;
 * - moved to ap-south through the API (number update with HomeRegion), the
 *   next call, placed within 5 s and with no restart, is anchored in ap-south;
 * - numbers no tenant owns still follow the static rules.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenantApp } from '../../../control-plane/api/app.js';
import { RedisCallControl } from '../../../control-plane/api/call-control.js';
import { startHttpServer, type RunningServer } from '../../../control-plane/api/server.js';
import { bootstrapAccount } from '../../../control-plane/store/accounts.js';
import type { Call } from '../../../signaling/b2bua/call.js';
import { PASSTHROUGH_NODE } from '../../../signaling/b2bua/mesh.js';
import { CallRecordStore } from '../../../regions/store/call-records.js';
import { keys } from '../../../regions/store/keys.js';
import { NumberStore } from '../../../regions/store/numbers.js';
import type { AccountRecord } from '../../../regions/store/schema.js';
import { clearKeys } from '../../support/redis-keys.js';
import { runSipp, startSipp, type SippInstance } from '../../support/sipp.js';
import { waitFor } from '../../support/wait.js';
import { TEST_REDIS_URL } from '../global-setup.js';
import { startTestRegion, type TestRegion } from '../signaling/b2bua/harness.js';

const PREFIX = 'it-tenant-homes:';
const REGIONS = ['us-east', 'eu-west', 'ap-south'] as const;
type Region = (typeof REGIONS)[number];
const SIG: Record<Region, { address: string; port: number }> = {
  'us-east': { address: '127.0.21.1', port: 5060 },
  'eu-west': { address: '127.0.22.1', port: 5060 },
  'ap-south': { address: '127.0.23.1', port: 5060 },
};
const MEDIA: Record<Region, { id: string; address: string; ngPort: number; rtpPortMin: number; rtpPortMax: number }> = {
  'us-east': { id: 'it-th-us-east-media-1', address: '127.0.21.11', ngPort: 2223, rtpPortMin: 41000, rtpPortMax: 41999 },
  'eu-west': { id: 'it-th-eu-west-media-1', address: '127.0.22.11', ngPort: 2223, rtpPortMin: 42000, rtpPortMax: 42999 },
  'ap-south': { id: 'it-th-ap-south-media-1', address: '127.0.23.11', ngPort: 2223, rtpPortMin: 43000, rtpPortMax: 43999 },
};
const CARRIER = { address: '127.0.21.2', port: 5070 };
const FAR_END = { address: '127.0.21.50', port: 5090 };
const STATIC_RULES = [
  { prefix: '+1555', region: 'us-east' },
  { prefix: '+9180', region: 'ap-south' },
];
const TENANT_NUMBER = '+15557770001';

/** Where one call was anchored: the regions whose B2BUA held it, and which of them took it forwarded from us-east. */
interface Anchoring {
  answered: Record<Region, number>;
  /** Regions that held the call as its home (forwarded by the us-east edge, media left there). */
  anchoredFromEdge: Region[];
  /** Regions that held it with media of their own. */
  withOwnMedia: Region[];
}

describe('home region from tenant data: calls entering us-east', () => {
  const regions = new Map<Region, TestRegion>();
  let api: RunningServer;
  let account: AccountRecord;
  let farEnd: SippInstance;

  beforeAll(async () => {
    await clearKeys(TEST_REDIS_URL, PREFIX);
    for (const region of REGIONS) {
      regions.set(
        region,
        await startTestRegion({
          keyPrefix: PREFIX,
          region,
          nodeId: `it-th-${region}-sig`,
          sip: SIG[region],
          mediaNodes: [MEDIA[region]],
          routes: [
            { prefix: '+1555', destination: `sip:${FAR_END.address}:${FAR_END.port}` },
            { prefix: '+9180', destination: `sip:${FAR_END.address}:${FAR_END.port}` },
          ],
          mesh: { peers: REGIONS.filter((r) => r !== region).map((r) => ({ region: r, ...SIG[r] })), homeRules: STATIC_RULES },
        }),
      );
    }
    const redis = regions.get('us-east')!.node.redis;
    api = await startHttpServer(
      createTenantApp({ redis, keyPrefix: PREFIX, defaultRegion: 'us-east', regions: [...REGIONS], callControl: new RedisCallControl(redis, PREFIX) }),
      { hostname: '127.0.0.1', port: 0 },
    );
    account = await bootstrapAccount(redis, PREFIX, { friendlyName: 'homed in eu-west', homeRegion: 'eu-west' });
    farEnd = await startSipp({ scenario: 'uas-echo.xml', localAddress: FAR_END.address, localPort: FAR_END.port, mediaPort: 22200, timeoutMs: 180_000 });
    await farEnd.ready;
  });

  afterAll(async () => {
    await farEnd?.stop(500);
    await api?.close();
    for (const r of regions.values()) await r.close();
  });

  async function post(path: string, form: Record<string, string>): Promise<{ status: number; body: { sid: string; home_region: string } }> {
    const res = await fetch(`${api.url}/2010-04-01/Accounts/${account.sid}${path}`, {
      method: 'POST',
      headers: {
        Authorization: `Basic ${Buffer.from(`${account.sid}:${account.authToken}`).toString('base64')}`,
        'Content-Type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams(form).toString(),
    });
    return { status: res.status, body: (await res.json()) as { sid: string; home_region: string } };
  }

  /** One call from the carrier into us-east; which nodes held it while it was up. */
  async function callViaUsEast(dialed: string): Promise<Anchoring> {
    const before = Object.fromEntries(REGIONS.map((r) => [r, regions.get(r)!.node.b2bua.counters.answered])) as Record<Region, number>;
    // What each node held while the call was up, read then: an ended call releases its INVITEs.
    const seen = new Map<Region, Map<Call, { mediaNodeId: string; edgeRegion: string | undefined; sourceAddress: string }>>();
    const sample = (): void => {
      for (const r of REGIONS) {
        for (const call of regions.get(r)!.node.b2bua.calls.values()) {
          if (call.to !== dialed || call.state !== 'answered') continue;
          const held = seen.get(r) ?? new Map();
          if (!held.has(call)) held.set(call, { mediaNodeId: call.mediaNodeId, edgeRegion: call.fromEdge?.region, sourceAddress: call.a.source.address });
          seen.set(r, held);
        }
      }
    };
    const poller = setInterval(sample, 50);
    const res = await runSipp({
      scenario: 'uac-nomedia.xml',
      target: `${SIG['us-east'].address}:${SIG['us-east'].port}`,
      localAddress: CARRIER.address,
      localPort: CARRIER.port,
      mediaPort: 20200,
      service: dialed,
      calls: 1,
      callDurationMs: 800,
      timeoutMs: 30_000,
    });
    clearInterval(poller);
    expect(res.successfulCalls, res.errorsTail).toBe(1);
    const answered = Object.fromEntries(REGIONS.map((r) => [r, regions.get(r)!.node.b2bua.counters.answered - before[r]])) as Record<Region, number>;
    const held = (r: Region) => [...(seen.get(r)?.values() ?? [])];
    const anchoredFromEdge = REGIONS.filter((r) =>
      held(r).some((c) => c.mediaNodeId === PASSTHROUGH_NODE && c.edgeRegion === 'us-east' && c.sourceAddress === SIG['us-east'].address),
    );
    const withOwnMedia = REGIONS.filter((r) => held(r).some((c) => c.mediaNodeId !== PASSTHROUGH_NODE));
    return { answered, anchoredFromEdge, withOwnMedia };
  }

  /** Regions in the account's call records for `dialed` (written by the node that anchored each call). */
  async function recordRegions(dialed: string, atLeast: number): Promise<string[]> {
    const redis = regions.get('us-east')!.node.redis;
    const store = new CallRecordStore(redis, PREFIX);
    return waitFor(async () => {
      const sids = await redis.zrange(keys(PREFIX).accountCalls(account.sid), 0, -1);
      const records = (await store.getMany(sids)).filter((c) => c?.to === dialed);
      return records.length >= atLeast ? records.map((c) => c!.region) : undefined;
    }, 5000, `${atLeast} call records of ${dialed}`);
  }

  it("anchors a tenant's number in its home region (eu-west, from the account) though the static rules say us-east; carrier numbers follow the static rules", async () => {
    const res = await post('/IncomingPhoneNumbers.json', { PhoneNumber: TENANT_NUMBER, FriendlyName: 'tenant number' });
    expect(res.status).toBe(201);
    // A number without HomeRegion is homed where its account is.
    expect(res.body.home_region).toBe('eu-west');

    const tenant = await callViaUsEast(TENANT_NUMBER);
    expect(tenant.answered).toEqual({ 'us-east': 1, 'eu-west': 1, 'ap-south': 0 });
    expect(tenant.anchoredFromEdge).toEqual(['eu-west']);
    // The media stays at the edge (us-east); the home leaves it where it is.
    expect(tenant.withOwnMedia).toEqual(['us-east']);
    expect(await recordRegions(TENANT_NUMBER, 1)).toEqual(['eu-west']);

    // Numbers no tenant owns (carrier routes): the static rules decide.
    const carrierAp = await callViaUsEast('+918012345678');
    expect(carrierAp.answered).toEqual({ 'us-east': 1, 'eu-west': 0, 'ap-south': 1 });
    expect(carrierAp.anchoredFromEdge).toEqual(['ap-south']);
    const carrierLocal = await callViaUsEast('+15550000001');
    expect(carrierLocal.answered).toEqual({ 'us-east': 1, 'eu-west': 0, 'ap-south': 0 });
    expect(carrierLocal.anchoredFromEdge).toEqual([]);
  });

  it('moving the number to ap-south anchors the next call there within 5 s, with no restart', async () => {
    const sid = await new NumberStore(regions.get('us-east')!.node.redis, PREFIX).sidByE164(TENANT_NUMBER);
    expect(sid).toBeDefined();
    const res = await post(`/IncomingPhoneNumbers/${sid}.json`, { HomeRegion: 'ap-south' });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.home_region).toBe('ap-south');
    const movedAt = Date.now();
    // Past the nodes' cache lifetime (mesh.numberHomeCacheMs, 2 s), inside the 5 s promise.
    await new Promise((r) => setTimeout(r, 2500));

    expect(Date.now() - movedAt).toBeLessThan(5000);
    const moved = await callViaUsEast(TENANT_NUMBER);
    expect(moved.answered).toEqual({ 'us-east': 1, 'eu-west': 0, 'ap-south': 1 });
    expect(moved.anchoredFromEdge).toEqual(['ap-south']);
    expect((await recordRegions(TENANT_NUMBER, 2)).sort()).toEqual(['ap-south', 'eu-west']);
  });
});
