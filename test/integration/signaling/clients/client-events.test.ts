/**
 * Client calls' events (issue 13 item 6) and an abrupt disconnect mid-call,
 * on a real signaling node with real Redis, rtpengine and SIPp, the tenant
 * API, and the test's SIP-over-WebSocket phone (test/support/ws-phone.ts):
 *
 * - alice's outgoing call runs her token's application: the Calls API lists
 *   it `inbound` from `client:alice`; the application's status callback says
 *   so; her connection dropping mid-call ends it at once (completed, the
 *   application stops long before its Pause would) and her registration is
 *   gone from the store;
 * - a SIPp carrier calls a number whose application does
 *   `<Dial><Client>bob</Client></Dial>`; bob answers, then his connection
 *   drops: the Dial's child ends completed, the carrier gets BYE, bob's
 *   registration is gone;
 * - Usage/Records: `calls-client` counts both client calls' minutes, not
 *   `calls-inbound`/`calls-outbound`, and `calls` includes them; client calls
 *   are unpriced (price null);
 * - carol's connection dropping while she rings ends the Dial at once
 *   (no-answer), not after its 20 s timeout.
 *
 * 127.0.48.0/24.
 */
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenantApp } from '../../../../control-plane/api/app.js';
import { RedisCallControl } from '../../../../control-plane/api/call-control.js';
import { startHttpServer, type RunningServer } from '../../../../control-plane/api/server.js';
import { bootstrapAccount } from '../../../../control-plane/store/accounts.js';
import { sdpAudioEndpoint } from '../../../../regions/core/sdp.js';
import { CallRecordStore } from '../../../../regions/store/call-records.js';
import { listClientRegistrations } from '../../../../regions/store/client-registrations.js';
import type { AccountRecord } from '../../../../regions/store/schema.js';
import { tableAuthenticator } from '../../../support/client-authenticator.js';
import { clearKeys } from '../../../support/redis-keys.js';
import { RtpParty } from '../../../support/rtp-party.js';
import { runSipp } from '../../../support/sipp.js';
import { waitFor, waitUntil } from '../../../support/wait.js';
import { WsPhone } from '../../../support/ws-phone.js';
import { TEST_REDIS_URL } from '../../global-setup.js';
import { startTestRegion, type TestRegion } from '../b2bua/harness.js';

const PREFIX = `it-client-events-${process.pid}:`;
const SIG = { address: '127.0.48.1', port: 5060 };
const MEDIA = { id: 'it-ce-media', address: '127.0.48.11', ngPort: 2223, rtpPortMin: 48000, rtpPortMax: 48199 };
const CARRIER = '127.0.48.2';
const PHONE_IP = '127.0.48.20';
const PARTY_IP = '127.0.48.21';
const WS_PORT = 5066;

function plainSdp(p: RtpParty): string {
  return ['v=0', `o=phone 1 1 IN IP4 ${p.address}`, 's=-', `c=IN IP4 ${p.address}`, 't=0 0', `m=audio ${p.port} RTP/AVP 0 101`, 'a=rtpmap:0 PCMU/8000', 'a=rtpmap:101 telephone-event/8000', 'a=sendrecv', ''].join('\r\n');
}

describe('client calls: Calls records, status callbacks, calls-client usage; abrupt disconnect mid-call', () => {
  let region: TestRegion;
  let api: RunningServer;
  let web: ServerType;
  let appUrl: string;
  let account: AccountRecord;
  const tokens: Parameters<typeof tableAuthenticator>[0] = {};
  const hits: { path: string; params: Record<string, string>; at: number }[] = [];
  const docs = new Map<string, string>();
  const phones: WsPhone[] = [];
  const parties: RtpParty[] = [];

  beforeAll(async () => {
    await clearKeys(TEST_REDIS_URL, PREFIX);
    region = await startTestRegion({
      keyPrefix: PREFIX,
      region: 'us-east',
      nodeId: 'it-ce-sig',
      sip: SIG,
      mediaNodes: [MEDIA],
      routes: [],
      clientAuthenticator: tableAuthenticator(tokens),
    });
    const redis = region.node.redis;
    account = await bootstrapAccount(redis, PREFIX, { friendlyName: 'client events', homeRegion: 'us-east' });
    api = await startHttpServer(
      createTenantApp({ redis, keyPrefix: PREFIX, defaultRegion: 'us-east', regions: ['us-east'], callControl: new RedisCallControl(redis, PREFIX) }),
      { hostname: '127.0.0.1', port: 0 },
    );
    const app = new Hono();
    app.all('*', async (c) => {
      const path = new URL(c.req.url).pathname;
      const params: Record<string, string> = {};
      if (c.req.method === 'POST') for (const [k, v] of Object.entries(await c.req.parseBody())) params[k] = String(v);
      hits.push({ path, params, at: Date.now() });
      return c.body(docs.get(path) ?? '<Response><Hangup/></Response>', 200, { 'Content-Type': 'text/xml' });
    });
    web = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 });
    await new Promise((r) => web.once('listening', r));
    appUrl = `http://127.0.0.1:${(web.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    for (const p of phones) p.close();
    for (const p of parties) p.close();
    await api?.close();
    await region?.close();
    await new Promise((r) => web?.close(r));
    await clearKeys(TEST_REDIS_URL, PREFIX);
  });

  const auth = (): string => `Basic ${Buffer.from(`${account.sid}:${account.authToken}`).toString('base64')}`;

  async function post(path: string, form: URLSearchParams): Promise<{ status: number; body: Record<string, unknown> }> {
    const res = await fetch(`${api.url}/2010-04-01/Accounts/${account.sid}${path}`, {
      method: 'POST',
      headers: { Authorization: auth(), 'Content-Type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  async function get(path: string): Promise<Record<string, unknown>> {
    const res = await fetch(`${api.url}/2010-04-01/Accounts/${account.sid}${path}`, { headers: { Authorization: auth() } });
    expect(res.status).toBe(200);
    return (await res.json()) as Record<string, unknown>;
  }

  async function application(path: string, doc: string): Promise<string> {
    docs.set(path, doc);
    const app = await post('/Applications.json', new URLSearchParams({ FriendlyName: path, VoiceUrl: `${appUrl}${path}`, StatusCallback: `${appUrl}${path}-status` }));
    expect(app.status, JSON.stringify(app.body)).toBe(201);
    return app.body.sid as string;
  }

  async function phone(identity: string): Promise<WsPhone> {
    const p = await WsPhone.open({ host: SIG.address, port: WS_PORT, localAddress: PHONE_IP, token: `tok-${identity}`, user: identity });
    phones.push(p);
    const r = await p.register(300);
    expect(r.status, r.reason).toBe(200);
    return p;
  }

  async function party(): Promise<RtpParty> {
    const p = await RtpParty.bind(PARTY_IP);
    parties.push(p);
    return p;
  }

  const registrations = (identity: string): Promise<unknown[]> => listClientRegistrations(region.node.redis, PREFIX, account.sid, identity);

  it('an outgoing client call is listed inbound from client:alice with its status callback; her connection dropping ends it and her registration', async () => {
    const appSid = await application('/alice-app', '<Response><Say>Hello alice.</Say><Pause length="30"/></Response>');
    tokens['tok-alice'] = { accountSid: account.sid, identity: 'alice', outgoing: { applicationSid: appSid, params: {} } };
    const alice = await phone('alice');
    expect(await registrations('alice')).toHaveLength(1);
    const media = await party();
    const { response, call } = await alice.call('+15550400001', plainSdp(media));
    expect(response.status).toBe(200);
    const offered = sdpAudioEndpoint(response.body.toString('utf8'))!;
    media.setRemote(offered.address, offered.port);
    media.startStream(0xc3);
    // "Hello alice." is about a second of speech (50 packets); the Pause after it sends none.
    await waitUntil(() => media.audio().length > 25, 10_000, 'the application\'s speech at alice');

    const webhook = hits.find((h) => h.path === '/alice-app')!;
    const sid = webhook.params.CallSid!;
    const listed = (await get(`/Calls.json?From=${encodeURIComponent('client:alice')}`)).calls as Record<string, unknown>[];
    expect(listed).toEqual([expect.objectContaining({ sid, from: 'client:alice', to: '+15550400001', direction: 'inbound', status: 'in-progress' })]);

    // Abrupt: the socket is destroyed, no BYE, no un-REGISTER.
    const droppedAt = Date.now();
    alice.close();
    media.stopStream();
    const done = await waitFor(() => hits.find((h) => h.path === '/alice-app-status' && h.params.CallSid === sid && h.params.CallStatus === 'completed'), 10_000, 'completed status callback');
    // Not the Pause's 30 s: the drop ended it.
    expect(done.at - droppedAt).toBeLessThan(5000);
    expect(done.params).toMatchObject({ From: 'client:alice', Direction: 'inbound' });
    expect(call.byeReceived).toBe(false);
    const rec = await new CallRecordStore(region.node.redis, PREFIX).get(sid);
    expect(rec).toMatchObject({ from: 'client:alice', direction: 'inbound', status: 'completed' });
    expect(rec!.price).toBeUndefined();
    await waitUntil(async () => (await registrations('alice')).length === 0, 5000, 'alice\'s registration removed');
  });

  it('Dial Client: bob answers, his connection drops; the Dial child ends completed, the carrier gets BYE, his registration is gone', async () => {
    tokens['tok-bob'] = { accountSid: account.sid, identity: 'bob' };
    const bob = await phone('bob');
    const appSid = await application('/dial-bob', '<Response><Dial timeout="20"><Client>bob</Client></Dial></Response>');
    const n = await post('/IncomingPhoneNumbers.json', new URLSearchParams({ PhoneNumber: '+15550400002', VoiceApplicationSid: appSid }));
    expect(n.status, JSON.stringify(n.body)).toBe(201);
    const caller = await party();
    const carrier = runSipp({
      scenario: 'uac-app.xml',
      target: `${SIG.address}:${SIG.port}`,
      localAddress: CARRIER,
      localPort: 5400,
      mediaPort: 26400,
      service: '+15550400002',
      calls: 1,
      keys: { rtpaddr: caller.address, rtpport: String(caller.port) },
      timeoutMs: 60_000,
    });
    const ringing = await bob.ringing(1, 15_000);
    const bobMedia = await party();
    const offered = sdpAudioEndpoint(ringing.invite.body.toString('utf8'))!;
    bobMedia.setRemote(offered.address, offered.port);
    bob.answer(ringing, plainSdp(bobMedia));
    bobMedia.startStream(0xb2);
    caller.startStream(0xa1);
    await waitUntil(() => ringing.acked, 5000, 'ACK at bob');
    await waitUntil(() => bobMedia.audio().some((x) => x.payload[0] === 0xa1) && caller.audio().some((x) => x.payload[0] === 0xb2), 10_000, 'RTP both ways through the bridge');
    const childSid = ringing.invite.headers.get('X-Mesh-Call-Sid')!;
    expect(childSid).toMatch(/^CA/);

    bob.close();
    bobMedia.stopStream();
    const res = await carrier;
    caller.stopStream();
    // The scenario ends only on the platform's BYE (answered 200).
    expect(res.successfulCalls, res.errorsTail).toBe(1);
    const store = new CallRecordStore(region.node.redis, PREFIX);
    await waitUntil(async () => (await store.get(childSid))?.status === 'completed', 5000, 'the child record completed');
    expect(await store.get(childSid)).toMatchObject({ to: 'client:bob', direction: 'outbound-dial', status: 'completed' });
    const listed = (await get(`/Calls.json?To=${encodeURIComponent('client:bob')}`)).calls as Record<string, unknown>[];
    expect(listed).toEqual([expect.objectContaining({ sid: childSid, to: 'client:bob', direction: 'outbound-dial', status: 'completed', price: null })]);
    const parent = hits.find((h) => h.path === '/dial-bob')!.params.CallSid!;
    await waitFor(() => hits.find((h) => h.path === '/dial-bob-status' && h.params.CallSid === parent && h.params.CallStatus === 'completed'), 10_000, 'the parent call\'s completed callback');
    await waitUntil(async () => (await registrations('bob')).length === 0, 5000, 'bob\'s registration removed');
  });

  it('Usage/Records: calls-client counts both client calls, calls includes them, inbound/outbound do not', async () => {
    const records = async (category: string): Promise<{ usage: string; price: string | null }> => {
      await waitUntil(async () => ((await get(`/Usage/Records.json?Category=${category}`)).usage_records as unknown[]).length === 1, 5000, `${category} record`);
      return ((await get(`/Usage/Records.json?Category=${category}`)).usage_records as { usage: string; price: string | null }[])[0]!;
    };
    // Each call lasted under a minute: one started minute each.
    expect(Number((await records('calls-client')).usage)).toBe(2);
    // The carrier's call to the number is inbound minutes (1); no outbound.
    expect(Number((await records('calls-inbound')).usage)).toBe(1);
    expect(Number((await records('calls-outbound')).usage)).toBe(0);
    expect(Number((await records('calls')).usage)).toBe(3);
  });

  it('Dial Client: carol\'s connection drops while she rings; the Dial ends no-answer at once, not after its timeout', async () => {
    tokens['tok-carol'] = { accountSid: account.sid, identity: 'carol' };
    const carol = await phone('carol');
    const appSid = await application('/dial-carol', `<Response><Dial action="${appUrl}/dialed-carol" timeout="20"><Client>carol</Client></Dial></Response>`);
    const n = await post('/IncomingPhoneNumbers.json', new URLSearchParams({ PhoneNumber: '+15550400003', VoiceApplicationSid: appSid }));
    expect(n.status, JSON.stringify(n.body)).toBe(201);
    const caller = await party();
    const carrier = runSipp({
      scenario: 'uac-app.xml',
      target: `${SIG.address}:${SIG.port}`,
      localAddress: CARRIER,
      localPort: 5401,
      mediaPort: 26404,
      service: '+15550400003',
      calls: 1,
      keys: { rtpaddr: caller.address, rtpport: String(caller.port) },
      timeoutMs: 60_000,
    });
    await carol.ringing(1, 15_000);
    const droppedAt = Date.now();
    carol.close();
    const dialed = await waitFor(() => hits.find((h) => h.path === '/dialed-carol'), 10_000, '/dialed-carol');
    expect(dialed.params.DialCallStatus).toBe('no-answer');
    expect(dialed.at - droppedAt).toBeLessThan(5000);
    const res = await carrier;
    expect(res.successfulCalls, res.errorsTail).toBe(1);
    await waitUntil(async () => (await registrations('carol')).length === 0, 5000, 'carol\'s registration removed');
  });
});
