/**
 * Trackers on real calls, end to end: the tenant API (real HTTP, real
 * Redis) tags an application and a number and defines a tracker; a real
 * signaling node with real rtpengine runs the calls against SIPp — an
 * inbound call to the tagged number from a SIPp caller, an API call
 * through the tagged application to a SIPp callee, an untagged API call,
 * and a tagged one the callee refuses busy. The tracker counts exactly the
 * tagged calls, with post-dial delays measured by the call side.
 * Addresses: 127.0.37.0/24 (own SIP, media, caller and callee).
 */
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CallRecordStore, type CallRecord } from '../../../regions/store/call-records.js';
import { RtpParty } from '../../support/rtp-party.js';
import { runSipp, startSipp } from '../../support/sipp.js';
import { waitFor } from '../../support/wait.js';
import { startTestRegion, type TestRegion } from '../signaling/b2bua/harness.js';
import { startApiHarness, type ApiHarness } from './api-harness.js';

const PREFIX = 'it-trackers-sipp:';
const SIG = { address: '127.0.37.1', port: 5060 };
const CALLEE = { address: '127.0.37.3', port: 5090 };
const CALLER_IP = '127.0.37.2';
const PARTY_IP = '127.0.37.4';

describe('trackers on real SIPp calls', () => {
  let h: ApiHarness;
  let region: TestRegion;
  let web: ServerType;
  let appUrl: string;
  const A = () => `/2010-04-01/Accounts/${h.account.sid}`;

  beforeAll(async () => {
    h = await startApiHarness(PREFIX);
    region = await startTestRegion({
      keyPrefix: PREFIX,
      sip: SIG,
      mediaNodes: [{ id: 'it-trk-media', address: '127.0.37.11', ngPort: 2223, rtpPortMin: 40000, rtpPortMax: 40999 }],
      routes: [{ prefix: '+1555', destination: `sip:${CALLEE.address}:${CALLEE.port}` }],
    });
    const app = new Hono();
    // Outbound calls stay up until the API hangs them up; inbound ones pause a second and hang up.
    app.post('/voice', (c) => c.body('<Response><Pause length="30"/></Response>', 200, { 'Content-Type': 'text/xml' }));
    app.post('/inbound', (c) => c.body('<Response><Pause length="1"/><Hangup/></Response>', 200, { 'Content-Type': 'text/xml' }));
    web = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 });
    await new Promise((r) => web.once('listening', r));
    appUrl = `http://127.0.0.1:${(web.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await region?.close();
    await h?.close();
    await new Promise((r) => web?.close(r));
  });

  const recordOf = (sid: string): Promise<CallRecord | undefined> => new CallRecordStore(h.redis, PREFIX).get(sid);
  const finalRecord = (sid: string, status: CallRecord['status']) =>
    waitFor(async () => {
      const r = await recordOf(sid);
      return r?.status === status ? r : undefined;
    }, 10_000);

  /** An API call answered by a SIPp echo callee, kept up ~1 s, then hung up through the API. */
  async function answeredApiCall(form: Record<string, string>): Promise<CallRecord> {
    const uas = await startSipp({ scenario: 'uas-echo.xml', localAddress: CALLEE.address, localPort: CALLEE.port, mediaPort: 22000, timeoutMs: 60_000 });
    await uas.ready;
    try {
      const created = await h.req('POST', `${A()}/Calls.json`, { form: { To: '+15557654321', From: '+15550001111', ...form } });
      expect(created.status).toBe(201);
      const sid = created.body.sid as string;
      await waitFor(async () => ((await recordOf(sid))?.status === 'in-progress' ? true : undefined), 10_000);
      await new Promise((r) => setTimeout(r, 1000));
      expect((await h.req('POST', `${A()}/Calls/${sid}.json`, { form: { Status: 'completed' } })).status).toBe(200);
      return await finalRecord(sid, 'completed');
    } finally {
      expect((await uas.stop(500)).successfulCalls).toBe(1);
    }
  }

  it('counts exactly the tagged calls, inbound and outbound, with their post-dial delays', async () => {
    const app = await h.req('POST', `${A()}/Applications.json`, { form: { VoiceUrl: `${appUrl}/voice`, Tags: 'campaign' } });
    const inboundApp = await h.req('POST', `${A()}/Applications.json`, { form: { VoiceUrl: `${appUrl}/inbound`, Tags: 'campaign' } });
    const num = await h.req('POST', `${A()}/IncomingPhoneNumbers.json`, { form: { PhoneNumber: '+15550003701', VoiceApplicationSid: inboundApp.body.sid, Tags: 'print-ad' } });
    expect(num.status).toBe(201);
    const tracker = await h.req('POST', `${A()}/Trackers.json`, { form: { Tags: 'campaign', FriendlyName: 'campaign' } });
    const printOnly = await h.req('POST', `${A()}/Trackers.json`, { form: { Tags: 'campaign,print-ad' } });

    // 1. Inbound, through the tagged number and its tagged application.
    const party = await RtpParty.bind(PARTY_IP);
    try {
      const res = await runSipp({
        scenario: 'uac-app.xml',
        target: `${SIG.address}:${SIG.port}`,
        localAddress: CALLER_IP,
        localPort: 5200,
        mediaPort: 26000,
        service: '+15550003701',
        calls: 1,
        keys: { rtpaddr: party.address, rtpport: String(party.port) },
        timeoutMs: 30_000,
      });
      expect(res.successfulCalls).toBe(1);
    } finally {
      party.close();
    }
    const inbound = await waitFor(async () => {
      const list = await h.req('GET', `${A()}/Calls.json?To=%2B15550003701`);
      const c = list.body.calls[0];
      return c?.status === 'completed' ? c : undefined;
    }, 10_000);
    expect(inbound.tags).toEqual(['campaign', 'print-ad']);
    expect((await recordOf(inbound.sid))?.postDialDelayMs).toBeGreaterThanOrEqual(0);

    // 2. Outbound through the tagged application, with a tag of its own.
    const tagged = await answeredApiCall({ ApplicationSid: app.body.sid, Tags: 'vip' });
    expect(tagged.tags).toEqual(['campaign', 'vip']);
    // INVITE → SIPp's 180: measured, and short on loopback.
    expect(tagged.postDialDelayMs).toBeGreaterThanOrEqual(0);
    expect(tagged.postDialDelayMs).toBeLessThan(2000);

    // 3. Untagged: not counted.
    const untagged = await answeredApiCall({ Url: `${appUrl}/voice` });
    expect(untagged.tags).toBeUndefined();

    // 4. Tagged, refused busy: an attempt, not an answer, not a failure.
    const uas = await startSipp({ scenario: 'uas-busy.xml', localAddress: CALLEE.address, localPort: CALLEE.port, mediaPort: 22000, timeoutMs: 60_000 });
    await uas.ready;
    try {
      const busy = await h.req('POST', `${A()}/Calls.json`, { form: { To: '+15557654321', From: '+15550001111', ApplicationSid: app.body.sid } });
      await finalRecord(busy.body.sid, 'busy');
    } finally {
      await uas.stop(500);
    }

    const today = new Date().toISOString().slice(0, 10);
    const m = await h.req('GET', `${A()}/Trackers/${tracker.body.sid}/Measurements.json?StartDate=${today}&Granularity=day`);
    expect(m.status).toBe(200);
    expect(m.body.totals).toMatchObject({ calls: 3, answered: 2, failed: 0, minutes: 2, answer_seizure_ratio: 0.6667, post_dial_delay_samples: 2 });
    // The price is the sum of the tagged records' prices, null while none has one (no price deck here).
    const prices = (await Promise.all([inbound.sid as string, tagged.sid].map(recordOf))).map((r) => (r as { price?: string } | undefined)?.price).filter((p): p is string => p !== undefined);
    expect(m.body.totals.price).toBe(prices.length === 0 ? null : prices.reduce((s, p) => s + Number(p), 0).toFixed(5));
    expect(m.body.totals.post_dial_delay_p50_ms).not.toBeNull();
    const hourly = await h.req('GET', `${A()}/Trackers/${tracker.body.sid}/Measurements.json?StartDate=${today}&Granularity=hour`);
    expect(hourly.body.buckets.reduce((s: number, b: { calls: number }) => s + b.calls, 0)).toBe(3);
    const p = await h.req('GET', `${A()}/Trackers/${printOnly.body.sid}/Measurements.json?StartDate=${today}`);
    expect(p.body.totals).toMatchObject({ calls: 1, answered: 1 });
  });
});
