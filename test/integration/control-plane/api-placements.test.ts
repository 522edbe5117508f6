/**
 * The tenant extension Calls/{CallSid}/Placements against the real server and
 * Redis: an API call's trace (stored under its CallSid), the account
 * boundary, and a call the B2BUA anchored (traced under its first leg's SIP
 * Call-ID) still found by CallSid once its live-call record is gone — real
 * signaling node, rtpengine and SIPp.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { choosePlacement, placementTraceEntry, type PlacementInput } from '../../../control-plane/placement/index.js';
import { bootstrapAccount } from '../../../control-plane/store/accounts.js';
import { asNodeId, asRegionId } from '../../../regions/core/ids.js';
import { keys } from '../../../regions/store/keys.js';
import { appendPlacementTrace } from '../../../regions/store/placement-traces.js';
import type { AccountRecord } from '../../../regions/store/schema.js';
import { runSipp, startSipp } from '../../support/sipp.js';
import { CALLEE, CARRIER, MEDIA_NODES, SIG, startTestRegion, type TestRegion } from '../signaling/b2bua/harness.js';
import { startApiHarness, type ApiHarness } from './api-harness.js';

const PREFIX = 'it-api-placements:';
let h: ApiHarness;
let other: AccountRecord;
const A = () => `/2010-04-01/Accounts/${h.account.sid}`;
const asOther = (): [string, string] => [other.sid, other.authToken];

beforeAll(async () => {
  h = await startApiHarness(PREFIX);
  other = await bootstrapAccount(h.redis, h.prefix, { friendlyName: 'Tenant B', homeRegion: 'us-east' });
});
afterAll(async () => {
  await h?.close();
});

/** A transcode need at eu-west: only us-east has it, so the decision is remote with rejections. */
function transcodeInput(): PlacementInput {
  const n = (id: string, region: string, capabilities: PlacementInput['nodes'][number]['capabilities'], healthy = true) => ({
    id: asNodeId(id),
    region: asRegionId(region),
    capabilities,
    healthy,
    load: 0.2,
  });
  return {
    mediaRegion: asRegionId('eu-west'),
    homeRegion: asRegionId('us-east'),
    capability: 'transcode',
    nodes: [n('eu-west-media-1', 'eu-west', ['relay', 'play']), n('us-east-media-2', 'us-east', ['relay', 'transcode']), n('us-east-media-3', 'us-east', ['relay', 'transcode'], false)],
    linkDelaysMs: { 'eu-west': { 'us-east': 40 }, 'us-east': { 'eu-west': 40 } },
    centralServices: ['record'],
  };
}

describe('Calls/{CallSid}/Placements', () => {
  it("lists an own call's decisions: inputs, candidates, rejections, chosen node, region and kind", async () => {
    const call = await h.req('POST', `${A()}/Calls.json`, { form: { To: '+15551110000', From: '+15552220000', Url: 'http://127.0.0.1:9/voice' } });
    expect(call.status).toBe(201);
    const sid = call.body.sid as string;

    // Before any media is placed: an empty list, not a 404.
    const empty = await h.req('GET', `${A()}/Calls/${sid}/Placements.json`);
    expect(empty.status).toBe(200);
    expect(empty.body.placements).toEqual([]);

    const i = transcodeInput();
    await appendPlacementTrace(h.redis, h.prefix, sid, placementTraceEntry(1, Date.UTC(2026, 0, 2, 3, 4, 5), i, choosePlacement(i)));
    const relay = { ...i, capability: 'relay' as const };
    await appendPlacementTrace(h.redis, h.prefix, sid, placementTraceEntry(2, Date.UTC(2026, 0, 2, 3, 4, 6), relay, choosePlacement(relay)));

    const r = await h.req('GET', `${A()}/Calls/${sid}/Placements.json`);
    expect(r.status).toBe(200);
    expect(r.body.placements).toHaveLength(2);
    expect(r.body.placements[0]).toMatchObject({
      sequence: 1,
      date_created: 'Fri, 02 Jan 2026 03:04:05 +0000',
      capability: 'transcode',
      media_region: 'eu-west',
      home_region: 'us-east',
      kind: 'remote',
      node_id: 'us-east-media-2',
      region: 'us-east',
      delay_ms: 40,
      branch_to: null,
      candidates: [{ node_id: 'us-east-media-2', region: 'us-east', delay_ms: 40, load: 0.2, sessions: null }],
      rejected: [
        { node_id: 'eu-west-media-1', region: 'eu-west', reason: 'lacks-capability' },
        { node_id: 'us-east-media-3', region: 'us-east', reason: 'unhealthy' },
      ],
      nodes_total: 3,
    });
    expect(r.body.placements[0].reasons.join(' ')).toContain('No usable node in eu-west has transcode');
    expect(r.body.placements[1]).toMatchObject({ sequence: 2, kind: 'local', node_id: 'eu-west-media-1', region: 'eu-west' });
    expect(r.body).toMatchObject({ page: 0, page_size: 50, start: 0, end: 1, next_page_uri: null, previous_page_uri: null });
    expect(r.body.uri).toContain(`/Calls/${sid}/Placements.json`);

    const paged = await h.req('GET', `${A()}/Calls/${sid}/Placements.json?PageSize=1`);
    expect(paged.body.placements.map((p: { sequence: number }) => p.sequence)).toEqual([1]);
    expect(paged.body.next_page_uri).toContain('Page=1');
    const next = await h.req('GET', paged.body.next_page_uri as string);
    expect(next.body.placements.map((p: { sequence: number }) => p.sequence)).toEqual([2]);
  });

  it("is 404 for another account's call and for a malformed CallSid", async () => {
    const sid = (await h.req('POST', `${A()}/Calls.json`, { form: { To: '+15551110001', From: '+15552220000', Url: 'http://127.0.0.1:9/voice' } })).body.sid as string;
    const i = transcodeInput();
    await appendPlacementTrace(h.redis, h.prefix, sid, placementTraceEntry(1, Date.now(), i, choosePlacement(i)));
    expect((await h.req('GET', `${A()}/Calls/${sid}/Placements.json`)).status).toBe(200);
    // The other tenant under its own account: not its call.
    const theirs = await h.req('GET', `/2010-04-01/Accounts/${other.sid}/Calls/${sid}/Placements.json`, { auth: asOther() });
    expect(theirs.status).toBe(404);
    // Nor under ours.
    expect((await h.req('GET', `${A()}/Calls/${sid}/Placements.json`, { auth: asOther() })).status).toBe(404);
    expect((await h.req('GET', `${A()}/Calls/CAnot-a-sid/Placements.json`)).status).toBe(404);
    expect((await h.req('GET', `${A()}/Calls/${'CA' + '0'.repeat(32)}/Placements.json`)).status).toBe(404);
  });
});

describe('Placements of a call the B2BUA anchored', () => {
  let region: TestRegion;
  beforeAll(async () => {
    region = await startTestRegion({ keyPrefix: PREFIX });
  });
  afterAll(async () => {
    await region?.close();
  });

  it('are found by CallSid after the call ended and its live-call record is gone', async () => {
    const dialed = '+15551234567';
    // A tenant number without an application: the B2BUA routes the call and accounts it to the tenant at its end.
    expect((await h.req('POST', `${A()}/IncomingPhoneNumbers.json`, { form: { PhoneNumber: dialed } })).status).toBe(201);

    const uas = await startSipp({ scenario: 'uas-echo.xml', localAddress: CALLEE.address, localPort: CALLEE.port, mediaPort: 22100, rtpEcho: true, timeoutMs: 60_000 });
    await uas.ready;
    const res = await runSipp({
      scenario: 'uac-basic.xml',
      target: `${SIG.address}:${SIG.port}`,
      localAddress: CARRIER.address,
      localPort: CARRIER.port,
      mediaPort: 20100,
      service: dialed,
      calls: 1,
      rate: 1,
      limit: 1,
      timeoutMs: 30_000,
    });
    await uas.stop(1000);
    expect(res.successfulCalls, res.errorsTail).toBe(1);

    const sid = await eventually(async () => {
      const list = await h.req('GET', `${A()}/Calls.json?To=${encodeURIComponent(dialed)}`);
      return (list.body.calls as { sid: string }[])[0]?.sid;
    });
    // The live-call record outlives the call by an hour only; the trace is kept a day.
    await h.redis.del(keys(PREFIX).liveCall(sid));

    const placements = await eventually(async () => {
      const r = await h.req('GET', `${A()}/Calls/${sid}/Placements.json`);
      expect(r.status).toBe(200);
      return (r.body.placements as unknown[]).length > 0 ? (r.body.placements as Record<string, unknown>[]) : undefined;
    });
    expect(placements[0]).toMatchObject({ sequence: expect.any(Number), capability: 'relay', media_region: 'us-east', home_region: 'us-east', kind: 'local', region: 'us-east' });
    expect(MEDIA_NODES.map((n) => n.id)).toContain(placements[0]?.node_id);
    expect((await h.req('GET', `/2010-04-01/Accounts/${other.sid}/Calls/${sid}/Placements.json`, { auth: asOther() })).status).toBe(404);
  });
});

/** Polls `f` until it returns a value (up to 5 s): the call side writes its records after the call, asynchronously. */
async function eventually<T>(f: () => Promise<T | undefined>): Promise<T> {
  const until = Date.now() + 5000;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 100));
  }
}
