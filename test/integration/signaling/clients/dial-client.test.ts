/**
 * Incoming client calls (issue 13 item 4) across two in-process regions with
 * real Redis, rtpengine and SIPp, and the test's SIP-over-WebSocket phone
 * (test/support/ws-phone.ts) registered as `client:alice` twice: once on
 * us-east's node, once on eu-west's. The account is homed in us-east, so the
 * call router and the media are there; eu-west relays its client's leg over
 * the client's own connection (`X-Mesh-Client-Binding`, trusted peers only).
 *
 * - `<Dial><Client>alice</Client>` rings both registrations; eu-west's
 *   answers, us-east's gets CANCEL; RTP flows both ways; the client hanging
 *   up ends the Dial (`DialCallStatus=completed`) and the carrier gets BYE.
 * - `<Client>` beside `<Number>`: the number answers first, the client's
 *   registrations get CANCEL.
 * - An identity with no registration: the Dial ends at once with no-answer.
 * - `POST …/Calls.json` with `To=client:alice`: the client rings, answers,
 *   hears the application, and the status callbacks arrive in order.
 *
 * 127.0.45.0/24 (us-east) and 127.0.46.0/24 (eu-west).
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
import { encodeClientBinding } from '../../../../signaling/clients/mesh-delivery.js';
import type { AccountRecord } from '../../../../regions/store/schema.js';
import { tableAuthenticator } from '../../../support/client-authenticator.js';
import { buildRequest, sdpOffer, sendUdp, statusCodeOf } from '../../../support/raw-sip.js';
import { clearKeys } from '../../../support/redis-keys.js';
import { RtpParty } from '../../../support/rtp-party.js';
import { runSipp, startSipp, type SippResult } from '../../../support/sipp.js';
import { waitFor, waitUntil } from '../../../support/wait.js';
import { WsPhone, type RingingCall } from '../../../support/ws-phone.js';
import { TEST_REDIS_URL } from '../../global-setup.js';
import { startTestRegion, type TestRegion } from '../b2bua/harness.js';

const PREFIX = `it-dial-client-${process.pid}:`;
const REGIONS = ['us-east', 'eu-west'] as const;
type Region = (typeof REGIONS)[number];
const SIG: Record<Region, { address: string; port: number }> = {
  'us-east': { address: '127.0.45.1', port: 5060 },
  'eu-west': { address: '127.0.46.1', port: 5060 },
};
const MEDIA: Record<Region, { id: string; address: string; ngPort: number; rtpPortMin: number; rtpPortMax: number }> = {
  'us-east': { id: 'it-dc-us-media', address: '127.0.45.11', ngPort: 2223, rtpPortMin: 46000, rtpPortMax: 46199 },
  'eu-west': { id: 'it-dc-eu-media', address: '127.0.46.11', ngPort: 2223, rtpPortMin: 46200, rtpPortMax: 46399 },
};
const CARRIER = '127.0.45.2';
const CALLEE = { address: '127.0.45.3', port: 5090 };
const PHONE_IP: Record<Region, string> = { 'us-east': '127.0.45.20', 'eu-west': '127.0.46.20' };
const PARTY_IP: Record<Region, string> = { 'us-east': '127.0.45.21', 'eu-west': '127.0.46.21' };
const WS_PORT = 5066;

/** A plain-RTP answer (PCMU + telephone-event) at `party`. */
function answerSdp(party: RtpParty): string {
  return ['v=0', `o=phone 1 1 IN IP4 ${party.address}`, 's=-', `c=IN IP4 ${party.address}`, 't=0 0', `m=audio ${party.port} RTP/AVP 0 101`, 'a=rtpmap:0 PCMU/8000', 'a=rtpmap:101 telephone-event/8000', 'a=sendrecv', ''].join('\r\n');
}

describe('Dial Client and To=client: ring every registration, in every region', () => {
  const regions = new Map<Region, TestRegion>();
  const phones: WsPhone[] = [];
  const parties: RtpParty[] = [];
  let api: RunningServer;
  let web: ServerType;
  let appUrl: string;
  let account: AccountRecord;
  const hits: { path: string; params: Record<string, string>; at: number }[] = [];
  const docs = new Map<string, string>();
  let sippPort = 5400;

  beforeAll(async () => {
    await clearKeys(TEST_REDIS_URL, PREFIX);
    // The access-token verifier's stand-in; its table is filled once the account exists.
    const tokens: Record<string, { accountSid: string; identity: string }> = {};
    const auth = tableAuthenticator(tokens);
    for (const region of REGIONS) {
      regions.set(
        region,
        await startTestRegion({
          keyPrefix: PREFIX,
          region,
          nodeId: `it-dc-${region}-sig`,
          sip: SIG[region],
          mediaNodes: [MEDIA[region]],
          routes: [{ prefix: '+1555', destination: `sip:${CALLEE.address}:${CALLEE.port}` }],
          mesh: { peers: REGIONS.filter((r) => r !== region).map((r) => ({ region: r, ...SIG[r] })), homeRules: [] },
          clientAuthenticator: auth,
        }),
      );
    }
    const redis = regions.get('us-east')!.node.redis;
    account = await bootstrapAccount(redis, PREFIX, { friendlyName: 'clients', homeRegion: 'us-east' });
    tokens['tok-alice'] = { accountSid: account.sid, identity: 'alice' };
    api = await startHttpServer(
      createTenantApp({ redis, keyPrefix: PREFIX, defaultRegion: 'us-east', regions: [...REGIONS], callControl: new RedisCallControl(redis, PREFIX) }),
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
    for (const r of regions.values()) await r.close();
    await new Promise((r) => web?.close(r));
    await clearKeys(TEST_REDIS_URL, PREFIX);
  });

  async function post(path: string, form: URLSearchParams): Promise<{ status: number; body: Record<string, unknown> }> {
    const res = await fetch(`${api.url}/2010-04-01/Accounts/${account.sid}${path}`, {
      method: 'POST',
      headers: { Authorization: `Basic ${Buffer.from(`${account.sid}:${account.authToken}`).toString('base64')}`, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  /** A number whose application is the document at `path`. */
  async function provision(number: string, path: string, doc: string): Promise<void> {
    docs.set(path, doc);
    const app = await post('/Applications.json', new URLSearchParams({ FriendlyName: path, VoiceUrl: `${appUrl}${path}` }));
    expect(app.status, JSON.stringify(app.body)).toBe(201);
    const n = await post('/IncomingPhoneNumbers.json', new URLSearchParams({ PhoneNumber: number, VoiceApplicationSid: app.body.sid as string }));
    expect(n.status, JSON.stringify(n.body)).toBe(201);
  }

  async function phone(region: Region): Promise<WsPhone> {
    const p = await WsPhone.open({ host: SIG[region].address, port: WS_PORT, localAddress: PHONE_IP[region], token: 'tok-alice', user: 'alice' });
    phones.push(p);
    const r = await p.register(300);
    expect(r.status, r.reason).toBe(200);
    return p;
  }

  async function party(region: Region): Promise<RtpParty> {
    const p = await RtpParty.bind(PARTY_IP[region]);
    parties.push(p);
    return p;
  }

  /** A SIPp carrier calls `number` with its RTP at `p`; resolves when the platform has hung up. */
  function carrierCall(number: string, p: RtpParty): Promise<SippResult> {
    const port = sippPort++;
    return runSipp({
      scenario: 'uac-app.xml',
      target: `${SIG['us-east'].address}:${SIG['us-east'].port}`,
      localAddress: CARRIER,
      localPort: port,
      mediaPort: 26400 + (port - 5400) * 4,
      service: number,
      calls: 1,
      keys: { rtpaddr: p.address, rtpport: String(p.port) },
      timeoutMs: 60_000,
    });
  }

  /** Answer `call` with a party that sends µ-law filled with `fill` to the platform's offer. */
  async function answerWithMedia(ph: WsPhone, call: RingingCall, region: Region, fill: number): Promise<RtpParty> {
    const p = await party(region);
    const offered = sdpAudioEndpoint(call.invite.body.toString('utf8'));
    expect(offered).toBeDefined();
    p.setRemote(offered!.address, offered!.port);
    ph.answer(call, answerSdp(p));
    p.startStream(fill);
    return p;
  }

  const filled = (p: RtpParty, fill: number): number => p.audio().filter((x) => x.payload[0] === fill).length;

  it('rings alice on both regions; eu-west answers, us-east gets CANCEL; RTP both ways; her hang-up ends the Dial', async () => {
    const us = await phone('us-east');
    const eu = await phone('eu-west');
    const regs = await listClientRegistrations(regions.get('us-east')!.node.redis, PREFIX, account.sid, 'alice');
    expect(regs.map((r) => r.region).sort()).toEqual(['eu-west', 'us-east']);
    await provision(
      '+15550100001',
      '/dial-client',
      `<Response><Say>Connecting you.</Say><Dial action="${appUrl}/dialed-client" timeout="20"><Client><Identity>alice</Identity><Parameter name="ticket" value="42 &amp; more"/></Client></Dial></Response>`,
    );
    const caller = await party('us-east');
    const done = carrierCall('+15550100001', caller);

    const [atUs, atEu] = await Promise.all([us.ringing(1, 15_000), eu.ringing(1, 15_000)]);
    // Each registration is reached over its own connection, with its Contact as Request-URI (RFC 7118 §5).
    expect(atUs.invite.uri).toMatch(/^sip:alice-[0-9a-f]+@[0-9a-f]+\.invalid;transport=ws$/);
    expect(atUs.invite.headers.get('Via')).toMatch(/^SIP\/2\.0\/WS 127\.0\.45\.1:5066;/);
    expect(atEu.invite.headers.get('Via')).toMatch(/^SIP\/2\.0\/WS 127\.0\.46\.1:5066;/);
    // The parameters reach both; the mesh's binding header stays between the nodes.
    for (const c of [atUs, atEu]) {
      expect(c.invite.headers.get('X-Mesh-Client-Params')).toBe('ticket=42%20%26%20more');
      expect(c.invite.headers.get('X-Mesh-Client-Binding')).toBeUndefined();
    }
    // The media stays on us-east's media node: eu-west passed the offer through.
    expect(sdpAudioEndpoint(atEu.invite.body.toString('utf8'))?.address).toBe(MEDIA['us-east'].address);

    const alice = await answerWithMedia(eu, atEu, 'eu-west', 0xb2);
    await waitUntil(() => atUs.state === 'cancelled', 5000, 'CANCEL at the us-east registration');
    await waitUntil(() => atEu.acked, 5000, 'ACK at the eu-west registration');
    caller.startStream(0xa1);
    await waitUntil(() => filled(alice, 0xa1) > 50 && filled(caller, 0xb2) > 50, 10_000, 'RTP both ways through the bridge');

    const bye = await eu.hangup(atEu);
    expect(bye.status).toBe(200);
    caller.stopStream();
    alice.stopStream();
    const res = await done;
    expect(res.successfulCalls, res.errorsTail).toBe(1);
    const dialed = await waitFor(() => hits.find((h) => h.path === '/dialed-client'), 5000, '/dialed-client');
    expect(dialed.params.DialCallStatus).toBe('completed');
    const child = await new CallRecordStore(regions.get('us-east')!.node.redis, PREFIX).get(dialed.params.DialCallSid!);
    expect(child).toMatchObject({ to: 'client:alice', direction: 'outbound-dial', status: 'completed' });
    // Both registrations were told the call's CallSid (the relayed one too).
    expect([atUs, atEu].map((c) => c.invite.headers.get('X-Mesh-Call-Sid'))).toEqual([child!.sid, child!.sid]);
    // eu-west carried one relayed call, now over.
    expect(regions.get('eu-west')!.node.b2bua.counters.answered).toBe(1);
    await waitUntil(() => regions.get('eu-west')!.node.b2bua.activeCalls === 0, 5000, 'eu-west relay ended');
    expect(atUs.acked).toBe(false);
  });

  it('Client beside Number: the number answers first, every registration of the client gets CANCEL', async () => {
    const [us, eu] = phones as [WsPhone, WsPhone];
    const uas = await startSipp({ scenario: 'uas-ring-answer.xml', localAddress: CALLEE.address, localPort: CALLEE.port, mediaPort: 22400, rtpEcho: true, callDurationMs: 1500, timeoutMs: 60_000 });
    await uas.ready;
    await provision(
      '+15550100002',
      '/dial-both',
      `<Response><Say>One moment.</Say><Dial action="${appUrl}/dialed-both" timeLimit="3"><Client>alice</Client><Number>+15550200002</Number></Dial></Response>`,
    );
    const caller = await party('us-east');
    const done = carrierCall('+15550100002', caller);
    const [atUs, atEu] = await Promise.all([us.ringing(2, 15_000), eu.ringing(2, 15_000)]);
    await waitUntil(() => atUs.state === 'cancelled' && atEu.state === 'cancelled', 10_000, 'CANCEL at both registrations');
    const res = await done;
    await uas.stop(500);
    expect(res.successfulCalls, res.errorsTail).toBe(1);
    const dialed = await waitFor(() => hits.find((h) => h.path === '/dialed-both'), 5000, '/dialed-both');
    expect(dialed.params.DialCallStatus).toBe('completed');
    const store = new CallRecordStore(regions.get('us-east')!.node.redis, PREFIX);
    expect(await store.get(dialed.params.DialCallSid!)).toMatchObject({ to: '+15550200002' });
    expect(atUs.acked || atEu.acked).toBe(false);
  });

  it('an identity with no registration: the Dial ends at once with no-answer', async () => {
    await provision('+15550100003', '/dial-nobody', `<Response><Dial action="${appUrl}/dialed-nobody" timeout="20"><Client>bob</Client></Dial></Response>`);
    const caller = await party('us-east');
    const started = Date.now();
    const res = await carrierCall('+15550100003', caller);
    expect(res.successfulCalls, res.errorsTail).toBe(1);
    const dialed = await waitFor(() => hits.find((h) => h.path === '/dialed-nobody'), 5000, '/dialed-nobody');
    expect(dialed.params.DialCallStatus).toBe('no-answer');
    // Not the 20 s ring time: nobody was there to ring.
    expect(dialed.at - started).toBeLessThan(5000);
    const listed = await fetch(`${api.url}/2010-04-01/Accounts/${account.sid}/Calls.json?To=${encodeURIComponent('client:bob')}`, {
      headers: { Authorization: `Basic ${Buffer.from(`${account.sid}:${account.authToken}`).toString('base64')}` },
    });
    const calls = ((await listed.json()) as { calls: { status: string; direction: string }[] }).calls;
    expect(calls).toEqual([expect.objectContaining({ status: 'no-answer', direction: 'outbound-dial' })]);
  });

  it('X-Mesh-Client-Binding is honoured only from a mesh peer, only for a binding the node holds, only well-formed', async () => {
    const eu = phones[1]!;
    const before = eu.calls.length;
    const regs = await listClientRegistrations(regions.get('us-east')!.node.redis, PREFIX, account.sid, 'alice');
    const atEu = regs.find((r) => r.region === 'eu-west')!;
    const invite = (from: { address: string; port: number }, header: string): Buffer =>
      buildRequest({
        to: SIG['eu-west'],
        from,
        user: 'client-alice',
        extraHeaders: ['X-Mesh-Edge-Region: us-east', 'X-Mesh-Media-Node: it-dc-us-media', `X-Mesh-Client-Binding: ${header}`],
        body: sdpOffer(PARTY_IP['us-east'], 40000),
      });
    const finalOf = async (bytes: Buffer, from: { address: string; port: number }): Promise<number | undefined> => {
      const got = await sendUdp(bytes, SIG['eu-west'], from, 800);
      return got.map(statusCodeOf).find((s) => s !== undefined && s >= 200);
    };
    // Not a peer's address: the header is not even read; nothing routes "client-alice".
    const outsider = { address: CARRIER, port: 5998 };
    expect(await finalOf(invite(outsider, encodeClientBinding(atEu)), outsider)).toBe(404);
    // A peer, but a binding eu-west does not hold: 480; a malformed header: 400.
    const peer = { address: SIG['us-east'].address, port: 5997 };
    expect(await finalOf(invite(peer, encodeClientBinding({ ...atEu, bindingId: '0'.repeat(32) })), peer)).toBe(480);
    expect(await finalOf(invite(peer, `${atEu.accountSid};identity=alice`), peer)).toBe(400);
    await new Promise((r) => setTimeout(r, 200));
    expect(eu.calls.length).toBe(before);
  });

  it('API To=client:alice rings the client, which answers and hears the application; status callbacks in order', async () => {
    const [us, eu] = phones as [WsPhone, WsPhone];
    const bad = await post('/Calls.json', new URLSearchParams({ To: 'client:al ice', From: '+15550009999', Url: `${appUrl}/api-client` }));
    expect(bad.status).toBe(400);
    expect(String(bad.body.message)).toContain('To');

    docs.set('/api-client', '<Response><Say>Hello alice, this is the platform calling.</Say><Pause length="20"/></Response>');
    const form = new URLSearchParams({ To: 'client:alice', From: '+15550009999', Url: `${appUrl}/api-client`, StatusCallback: `${appUrl}/api-status` });
    for (const e of ['initiated', 'ringing', 'answered', 'completed']) form.append('StatusCallbackEvent', e);
    const created = await post('/Calls.json', form);
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const sid = created.body.sid as string;

    const [atUs, atEu] = await Promise.all([us.ringing(3, 15_000), eu.ringing(3, 15_000)]);
    const alice = await answerWithMedia(us, atUs, 'us-east', 0xd4);
    await waitUntil(() => atEu.state === 'cancelled', 5000, 'CANCEL at the eu-west registration');
    // The Say reaches the client: audio from the platform, not the bridge fill of another test.
    await waitUntil(() => alice.audio().length > 50, 10_000, 'the application\'s speech at the client');
    expect((await us.hangup(atUs)).status).toBe(200);
    alice.stopStream();

    const status = await waitFor(() => {
      const got = hits.filter((h) => h.path === '/api-status' && h.params.CallSid === sid);
      return got.some((h) => h.params.CallStatus === 'completed') ? got : undefined;
    }, 10_000, 'completed status callback');
    expect(status.map((h) => h.params.CallStatus)).toEqual(['initiated', 'ringing', 'in-progress', 'completed']);
    expect(status[3]!.params).toMatchObject({ To: 'client:alice', Direction: 'outbound-api' });
    const answered = hits.find((h) => h.path === '/api-client' && h.params.CallSid === sid);
    expect(answered?.params.To).toBe('client:alice');
  });
});
