/**
 * Application calls keep their media at the edge (issue 11, items 3 and 4),
 * across three in-process regions with real Redis, rtpengine and SIPp.
 *
 * The test catalog gives the regions' media nodes different capabilities:
 * `play` (what an application leg needs) exists in us-east only; eu-west and
 * ap-south nodes only relay. A subaccount created through the tenant API is
 * homed in eu-west, and its number runs a Gather application.
 *
 * - A call entering us-east is anchored in eu-west (the call record's region;
 *   eu-west's router fetches the document and decides placement), but its
 *   media sits on us-east's node only: ng `list` shows the session there and
 *   none on eu-west's or ap-south's rtpengine while the call is up, and the
 *   caller's digits (reported by us-east's rtpengine to us-east's node) reach
 *   eu-west's Gather.
 * - A call entering ap-south for the same number needs `play`, which exists
 *   only in us-east: the media goes there (`remote`), and the trace says why.
 * - With us-east's media node killed, a call entering ap-south gets 503 with
 *   the placement's reason in a Warning header, at once, instead of a hang.
 */
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenantApp } from '../../../control-plane/api/app.js';
import { RedisCallControl } from '../../../control-plane/api/call-control.js';
import { startHttpServer, type RunningServer } from '../../../control-plane/api/server.js';
import { bootstrapAccount } from '../../../control-plane/store/accounts.js';
import { CallRecordStore } from '../../../regions/store/call-records.js';
import { keys } from '../../../regions/store/keys.js';
import { readPlacementTrace } from '../../../regions/store/placement-traces.js';
import type { AccountRecord } from '../../../regions/store/schema.js';
import { clearKeys } from '../../support/redis-keys.js';
import { sendUdp } from '../../support/raw-sip.js';
import { runSipp } from '../../support/sipp.js';
import { waitFor } from '../../support/wait.js';
import { TEST_REDIS_URL } from '../global-setup.js';
import { startTestRegion, type TestRegion } from '../signaling/b2bua/harness.js';

const PREFIX = 'it-app-edge:';
const REGIONS = ['us-east', 'eu-west', 'ap-south'] as const;
type Region = (typeof REGIONS)[number];
const SIG: Record<Region, { address: string; port: number }> = {
  'us-east': { address: '127.0.24.1', port: 5060 },
  'eu-west': { address: '127.0.25.1', port: 5060 },
  'ap-south': { address: '127.0.26.1', port: 5060 },
};
/** `play` in us-east only: the capability an application leg needs exists in one region. */
const MEDIA: Record<Region, { id: string; address: string; ngPort: number; rtpPortMin: number; rtpPortMax: number; capabilities: string[] }> = {
  'us-east': { id: 'it-ae-us-east-media-1', address: '127.0.24.11', ngPort: 2223, rtpPortMin: 44000, rtpPortMax: 44499, capabilities: ['relay', 'play', 'record'] },
  'eu-west': { id: 'it-ae-eu-west-media-1', address: '127.0.25.11', ngPort: 2223, rtpPortMin: 44500, rtpPortMax: 44999, capabilities: ['relay'] },
  'ap-south': { id: 'it-ae-ap-south-media-1', address: '127.0.26.11', ngPort: 2223, rtpPortMin: 45000, rtpPortMax: 45499, capabilities: ['relay'] },
};
const LINKS: Record<Region, Record<string, number>> = {
  'us-east': { 'eu-west': 40, 'ap-south': 110 },
  'eu-west': { 'us-east': 40, 'ap-south': 60 },
  'ap-south': { 'us-east': 110, 'eu-west': 60 },
};
const CALLER = '127.0.24.2';
const NUMBER = '+15557780001';

describe('application calls keep their media at the edge', () => {
  const regions = new Map<Region, TestRegion>();
  let api: RunningServer;
  let web: ServerType;
  let appUrl: string;
  let sub: { sid: string; authToken: string };
  let parent: AccountRecord;
  const hits: { path: string; params: Record<string, string> }[] = [];
  let sippPort = 5300;

  beforeAll(async () => {
    await clearKeys(TEST_REDIS_URL, PREFIX);
    for (const region of REGIONS) {
      regions.set(
        region,
        await startTestRegion({
          keyPrefix: PREFIX,
          region,
          nodeId: `it-ae-${region}-sig`,
          sip: SIG[region],
          mediaNodes: [MEDIA[region]],
          routes: [],
          mesh: {
            peers: REGIONS.filter((r) => r !== region).map((r) => ({ region: r, ...SIG[r] })),
            homeRules: [],
            linkDelaysMs: LINKS[region],
            linkMatrixMs: LINKS,
          },
        }),
      );
    }
    const redis = regions.get('us-east')!.node.redis;
    api = await startHttpServer(
      createTenantApp({ redis, keyPrefix: PREFIX, defaultRegion: 'us-east', regions: [...REGIONS], callControl: new RedisCallControl(redis, PREFIX) }),
      { hostname: '127.0.0.1', port: 0 },
    );
    parent = await bootstrapAccount(redis, PREFIX, { friendlyName: 'reseller', homeRegion: 'us-east' });

    const app = new Hono();
    app.all('*', async (c) => {
      const path = new URL(c.req.url).pathname;
      const params: Record<string, string> = {};
      if (c.req.method === 'POST') for (const [k, v] of Object.entries(await c.req.parseBody())) params[k] = String(v);
      hits.push({ path, params });
      const body =
        path === '/gather'
          ? '<Response><Gather numDigits="3" action="/gathered" timeout="5"><Say>Enter three digits.</Say></Gather><Say>Nothing heard.</Say></Response>'
          : '<Response><Say>Thank you.</Say></Response>';
      return c.body(body, 200, { 'Content-Type': 'text/xml' });
    });
    web = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 });
    await new Promise((r) => web.once('listening', r));
    appUrl = `http://127.0.0.1:${(web.address() as AddressInfo).port}`;

    // Through the API, as a tenant would: a subaccount homed in eu-west, an application, a number.
    const created = await post(parent, '/Accounts.json', { FriendlyName: 'eu tenant', HomeRegion: 'eu-west' }, '');
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    sub = { sid: created.body.sid as string, authToken: created.body.auth_token as string };
    const application = await post(sub, `/Accounts/${sub.sid}/Applications.json`, { FriendlyName: 'gather', VoiceUrl: `${appUrl}/gather` });
    expect(application.status, JSON.stringify(application.body)).toBe(201);
    const number = await post(sub, `/Accounts/${sub.sid}/IncomingPhoneNumbers.json`, { PhoneNumber: NUMBER, VoiceApplicationSid: application.body.sid as string });
    expect(number.status, JSON.stringify(number.body)).toBe(201);
    expect(number.body.home_region).toBe('eu-west');
    // Every region sees the others' media nodes (discovery) before the first call.
    await waitFor(() => REGIONS.every((r) => regions.get(r)!.node.mediaPort.placementNodes().filter((n) => n.healthy).length === 3) || undefined, 10_000, 'every media node discovered by every region');
  });

  afterAll(async () => {
    await api?.close();
    for (const r of regions.values()) await r.close();
    await new Promise((r) => web?.close(r));
  });

  async function post(
    who: { sid: string; authToken: string },
    path: string,
    form: Record<string, string>,
    base = '',
  ): Promise<{ status: number; body: Record<string, unknown> }> {
    const res = await fetch(`${api.url}/2010-04-01${base}${path}`, {
      method: 'POST',
      headers: {
        Authorization: `Basic ${Buffer.from(`${who.sid}:${who.authToken}`).toString('base64')}`,
        'Content-Type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams(form).toString(),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  /** rtpengine sessions on each region's media node now. */
  async function sessions(): Promise<Record<Region, number>> {
    const out = {} as Record<Region, number>;
    for (const r of REGIONS) out[r] = (await regions.get(r)!.node.media.node(MEDIA[r].id)!.client.list(100)).length;
    return out;
  }

  async function digitRoutes(): Promise<string[]> {
    return regions.get('us-east')!.node.redis.keys(`${PREFIX}digit-route:*`);
  }

  /** The subaccount's call records (written by the region that anchored each call). */
  async function records(atLeast: number): Promise<{ sid: string; region: string; status: string }[]> {
    const redis = regions.get('us-east')!.node.redis;
    const store = new CallRecordStore(redis, PREFIX);
    return waitFor(async () => {
      const sids = await redis.zrange(keys(PREFIX).accountCalls(sub.sid), 0, -1);
      const found = (await store.getMany(sids)).filter((c) => c !== undefined && c.status === 'completed');
      return found.length >= atLeast ? found.map((c) => ({ sid: c!.sid, region: c!.region, status: c!.status })) : undefined;
    }, 10_000, `${atLeast} completed call records`);
  }

  it('a call entering us-east is anchored in eu-west, its media on us-east only, and Gather gets the digits', async () => {
    const maxSeen: Record<Region, number> = { 'us-east': 0, 'eu-west': 0, 'ap-south': 0 };
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const now = await sessions();
        for (const r of REGIONS) maxSeen[r] = Math.max(maxSeen[r], now[r]);
        await new Promise((res) => setTimeout(res, 100));
      }
    })();
    const port = sippPort++;
    const res = await runSipp({
      scenario: 'uac-app-dtmf.xml',
      target: `${SIG['us-east'].address}:${SIG['us-east'].port}`,
      localAddress: CALLER,
      localPort: port,
      mediaPort: 27000 + (port - 5300) * 4,
      service: NUMBER,
      calls: 1,
      timeoutMs: 60_000,
    });
    sampling = false;
    await sampler;
    expect(res.successfulCalls, res.errorsTail).toBe(1);

    // The caller's RTP met one rtpengine: us-east's. Neither the home's nor ap-south's held a session.
    expect(maxSeen['us-east']).toBeGreaterThanOrEqual(1);
    expect(maxSeen['eu-west']).toBe(0);
    expect(maxSeen['ap-south']).toBe(0);
    // Digits reported by us-east's rtpengine reached eu-west's Gather (through us-east's node).
    const gathered = hits.find((h) => h.path === '/gathered');
    expect(gathered?.params.Digits).toBe('123');
    expect(gathered?.params.AccountSid).toBe(sub.sid);
    expect(regions.get('us-east')!.node.routing.dtmf.stats().forwarded).toBeGreaterThanOrEqual(3);

    const [rec] = await records(1);
    expect(rec!.region).toBe('eu-west');
    // The home's digit route (media region → home) was written for the call and is gone with it.
    await waitFor(async () => (await digitRoutes()).length === 0 || undefined, 5000, 'digit routes deleted');
    // The home decided: media in us-east, a node with play there → local to the media.
    const trace = (await readPlacementTrace(regions.get('eu-west')!.node.redis, PREFIX, rec!.sid)) as Record<string, unknown>[];
    expect(trace?.[0]).toMatchObject({ kind: 'local', input: { capability: 'play', mediaRegion: 'us-east', homeRegion: 'eu-west' }, chosen: { nodeId: MEDIA['us-east'].id } });

    // The call record kept the decisions: once the live trace is gone (it expires after a day), the API serves the copy.
    const redis = regions.get('eu-west')!.node.redis;
    const stored = await new CallRecordStore(redis, PREFIX).get(rec!.sid);
    expect(stored?.placements?.[0]).toMatchObject({ decision: { outcome: 'local', capability: 'play', mediaRegion: 'us-east', nodeId: MEDIA['us-east'].id } });
    // Each media need of the application (Say inside Gather: play; digit collection: relay) asked the policy too, and stayed on that node.
    const needs = (stored?.placements ?? []).slice(1).map((p) => p.decision as { outcome: string; capability: string; nodeId: string });
    expect(new Set(needs.map((d) => d.capability))).toEqual(new Set(['play', 'relay']));
    expect(needs.every((d) => d.outcome === 'local' && d.nodeId === MEDIA['us-east'].id)).toBe(true);
    const callKey = await redis.get(keys(PREFIX).placementsAlias(rec!.sid));
    expect(callKey).not.toBeNull();
    await redis.del(keys(PREFIX).placements(callKey!), keys(PREFIX).placementsAlias(rec!.sid));
    const api200 = await fetch(`${api.url}/2010-04-01/Accounts/${sub.sid}/Calls/${rec!.sid}/Placements.json`, {
      headers: { Authorization: `Basic ${Buffer.from(`${sub.sid}:${sub.authToken}`).toString('base64')}` },
    });
    expect(api200.status).toBe(200);
    const body = (await api200.json()) as { placements: { kind: string; node_id: string; media_region: string; home_region: string }[] };
    expect(body.placements[0]).toMatchObject({ kind: 'local', node_id: MEDIA['us-east'].id, media_region: 'us-east', home_region: 'eu-west' });
    expect(body.placements).toHaveLength(stored!.placements!.length);
  });

  it('entering ap-south, play exists only in us-east: the media goes there (remote), the trace says why, and the digits still reach the home', async () => {
    const before = await records(1);
    const port = sippPort++;
    const res = await runSipp({
      scenario: 'uac-app-dtmf.xml',
      target: `${SIG['ap-south'].address}:${SIG['ap-south'].port}`,
      localAddress: CALLER,
      localPort: port,
      mediaPort: 27000 + (port - 5300) * 4,
      service: NUMBER,
      calls: 1,
      timeoutMs: 60_000,
    });
    expect(res.successfulCalls, res.errorsTail).toBe(1);
    // us-east's rtpengine reported the digits to us-east's node, which passed them on to the home (digit route).
    expect(hits.filter((h) => h.path === '/gathered').map((h) => h.params.Digits)).toEqual(['123', '123']);
    const after = await records(before.length + 1);
    const rec = after.find((r) => !before.some((b) => b.sid === r.sid))!;
    expect(rec.region).toBe('eu-west');
    const trace = (await readPlacementTrace(regions.get('eu-west')!.node.redis, PREFIX, rec.sid)) as Record<string, unknown>[];
    expect(trace?.[0]).toMatchObject({ kind: 'remote', input: { capability: 'play', mediaRegion: 'ap-south', homeRegion: 'eu-west' }, chosen: { nodeId: MEDIA['us-east'].id, region: 'us-east' } });
    const why = JSON.stringify(trace?.[0]);
    expect(why).toContain('lacks-capability');
  });

  it("with us-east's media node killed, a call entering ap-south gets 503 and the placement's reason at once", async () => {
    await regions.get('us-east')!.rtpengines.get(MEDIA['us-east'].id)!.stop();
    // The home (eu-west) sees it leave discovery's healthy list.
    await waitFor(
      () => regions.get('eu-west')!.node.mediaPort.placementNodes().find((n) => n.id === MEDIA['us-east'].id)?.healthy !== true || undefined,
      10_000,
      'us-east media node unhealthy as seen from eu-west',
    );
    const invite = [
      `INVITE sip:${NUMBER}@${SIG['ap-south'].address}:5060 SIP/2.0`,
      `Via: SIP/2.0/UDP ${CALLER}:5399;branch=z9hG4bK-edge-503`,
      'Max-Forwards: 70',
      `From: <sip:carrier@${CALLER}>;tag=c503`,
      `To: <sip:${NUMBER}@${SIG['ap-south'].address}>`,
      'Call-ID: app-edge-503@test',
      'CSeq: 1 INVITE',
      `Contact: <sip:carrier@${CALLER}:5399>`,
      'Content-Type: application/sdp',
    ];
    const sdp = ['v=0', `o=- 1 1 IN IP4 ${CALLER}`, 's=-', `c=IN IP4 ${CALLER}`, 't=0 0', 'm=audio 27990 RTP/AVP 0', 'a=rtpmap:0 PCMU/8000', ''].join('\r\n');
    const started = Date.now();
    const replies = await sendUdp(Buffer.from([...invite, `Content-Length: ${Buffer.byteLength(sdp)}`, '', sdp].join('\r\n')), SIG['ap-south'], { address: CALLER, port: 5399 }, 2500);
    const final = replies.map((m) => m.toString()).find((m) => /^SIP\/2\.0 [2-6]\d\d/.test(m) && !m.startsWith('SIP/2.0 100'));
    expect(final, replies.map((m) => m.toString()).join('\n---\n')).toMatch(/^SIP\/2\.0 503 /);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(final).toMatch(/\r\nRetry-After: \d+/i);
    expect(final).toMatch(/\r\nWarning: 399 \S+ "no healthy media node with play for media in region ap-south/i);
  });
});
