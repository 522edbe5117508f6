/**
 * The call router end to end (issue 5): SIPp places calls to application
 * numbers of a real signaling node with real rtpengine and Redis; a hono
 * application server inside the test serves the documents (built with the
 * official `twilio` library's VoiceResponse) and checks our signatures with
 * its `validateRequest`. The caller's RTP ends at a socket the test owns, so
 * what the platform plays is measured packet by packet.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import twilio from 'twilio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrapAccount } from '../../../../control-plane/store/accounts.js';
import { parseConfig } from '../../../../infra/config.js';
import { startControlPlane, type ControlPlane } from '../../../../infra/control-plane.js';
import { silentLogger } from '../../../../regions/core/log.js';
import { nodeMetricsSnapshot } from '../../../../infra/node-metrics.js';
import type { AccountRecord } from '../../../../regions/store/schema.js';
import { readPlacementTrace } from '../../../../regions/store/placement-traces.js';
import { audioMs, RtpParty } from '../../../support/rtp-party.js';
import { runSipp, startSipp, type SippResult } from '../../../support/sipp.js';
import { waitFor } from '../../../support/wait.js';
import { CALLEE, SIG, startTestRegion, type TestRegion } from '../b2bua/harness.js';
import { TEST_REDIS_URL } from '../../global-setup.js';
import { clearKeys } from '../../../support/redis-keys.js';

const PREFIX = 'it-router:';
const CALLER_IP = '127.0.19.2';
const PARTY_IP = '127.0.19.3';

interface Hit {
  path: string;
  params: Record<string, string>;
  signatureValid: boolean;
  at: number;
}

type Handler = (params: Record<string, string>) => Promise<{ status?: number; body: string; delayMs?: number }> | { status?: number; body: string; delayMs?: number };

describe('call router: applications on real calls', () => {
  let region: TestRegion;
  let cp: ControlPlane;
  let account: AccountRecord;
  let client: ReturnType<typeof twilio>;
  let web: ServerType;
  let appUrl: string;
  const hits: Hit[] = [];
  const routes = new Map<string, Handler>();
  let toneWav: Buffer;
  let toneFetches = 0;
  let sippPort = 5200;

  beforeAll(async () => {
    await clearKeys(TEST_REDIS_URL, PREFIX);
    // Two calls at once at most: application calls count against the node's cap like bridged ones.
    region = await startTestRegion({ keyPrefix: PREFIX, maxCalls: 2 });
    const config = parseConfig({ ...region.config, nodeId: undefined, controlPlane: { port: 8080 } });
    cp = await startControlPlane(config, { operatorPassword: 'test-operator-password', port: 0 }, silentLogger);
    account = await bootstrapAccount(cp.redis, PREFIX, { friendlyName: 'router', homeRegion: 'us-east' });
    const dir = mkdtempSync(join(tmpdir(), 'router-it-'));
    execFileSync('sox', ['-n', '-r', '16000', '-c', '1', '-b', '16', join(dir, 'tone.wav'), 'synth', '2', 'sine', '440', 'vol', '0.3']);
    toneWav = readFileSync(join(dir, 'tone.wav'));
    const app = new Hono();
    app.get('/tone.wav', (c) => {
      toneFetches++;
      return c.body(new Uint8Array(toneWav), 200, { 'Content-Type': 'audio/wav', 'Cache-Control': 'max-age=600' });
    });
    app.all('*', async (c) => {
      const path = new URL(c.req.url).pathname;
      const params: Record<string, string> = {};
      if (c.req.method === 'POST') for (const [k, v] of Object.entries(await c.req.parseBody())) params[k] = String(v);
      const signatureValid = twilio.validateRequest(account.authToken, c.req.header('X-Twilio-Signature') ?? '', c.req.url, params);
      hits.push({ path, params, signatureValid, at: performance.now() });
      const h = routes.get(path);
      if (h === undefined) return c.body('<Response><Hangup/></Response>', 200, { 'Content-Type': 'text/xml' });
      const r = await h(params);
      if (r.delayMs !== undefined) await new Promise((res) => setTimeout(res, r.delayMs));
      return c.body(r.body, (r.status ?? 200) as 200, { 'Content-Type': 'text/xml' });
    });
    web = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 });
    await new Promise((r) => web.once('listening', r));
    appUrl = `http://127.0.0.1:${(web.address() as AddressInfo).port}`;
    client = twilio(account.sid, account.authToken, { httpClient: new LocalRequestClient(cp.url) });
  });

  afterAll(async () => {
    await cp?.close();
    await region?.close();
    await new Promise((r) => web?.close(r));
  });

  /** A number whose application is served at `path` (+ optional fallback), with a status callback. */
  async function provision(number: string, path: string, extra: { fallback?: string; voiceTimeout?: number } = {}): Promise<void> {
    const app = await client.applications.create({
      friendlyName: `app ${path}`,
      voiceUrl: `${appUrl}${path}`,
      ...(extra.fallback !== undefined ? { voiceFallbackUrl: `${appUrl}${extra.fallback}` } : {}),
      statusCallback: `${appUrl}/status`,
    });
    if (extra.voiceTimeout !== undefined) {
      const raw = await cp.redis.get(`${PREFIX}application:${app.sid}`);
      await cp.redis.set(`${PREFIX}application:${app.sid}`, JSON.stringify({ ...JSON.parse(raw!), voiceTimeout: extra.voiceTimeout }));
    }
    await client.incomingPhoneNumbers.create({ phoneNumber: number, voiceApplicationSid: app.sid });
  }

  /** Call `number` from SIPp with the caller's RTP at `party`; resolves when the platform has hung up. */
  function call(number: string, party: RtpParty, scenario = 'uac-app.xml', keys: Record<string, string> = {}): Promise<SippResult> {
    const port = sippPort++;
    return runSipp({
      scenario,
      target: `${SIG.address}:${SIG.port}`,
      localAddress: CALLER_IP,
      localPort: port,
      mediaPort: 26000 + (port - 5200) * 4,
      service: number,
      calls: 1,
      keys: { rtpaddr: party.address, rtpport: String(party.port), ...keys },
      timeoutMs: 60_000,
    });
  }

  const xml = (r: InstanceType<typeof twilio.twiml.VoiceResponse>): { body: string } => ({ body: r.toString() });

  it('Say then Play: the caller hears both for their length (within 10 %), and a second call plays from the cache', async () => {
    const r = new twilio.twiml.VoiceResponse();
    r.say('Hello from the edge mesh.');
    r.play(`${appUrl}/tone.wav`);
    routes.set('/say-play', () => xml(r));
    await provision('+15550000101', '/say-play');
    const speech = await region.node.routing.cache.getSpeech('Hello from the edge mesh.', 'man', 'en-US');
    const expectedMs = speech.durationMs + 2000;
    for (const round of [1, 2]) {
      const party = await RtpParty.bind(PARTY_IP);
      const res = await call('+15550000101', party);
      party.close();
      expect(res.successfulCalls, res.errorsTail).toBe(1);
      const heard = audioMs(party.audio());
      console.log('router Say+Play, measured:', JSON.stringify({ round, heardMs: heard, expectedMs }));
      expect(Math.abs(heard - expectedMs) / expectedMs, `round ${round}: heard ${heard} ms, expected ${expectedMs} ms`).toBeLessThan(0.1);
    }
    expect(toneFetches).toBe(1);
    const first = hits.find((h) => h.path === '/say-play')!;
    expect(first.signatureValid).toBe(true);
    expect(first.params).toMatchObject({ AccountSid: account.sid, To: '+15550000101', Direction: 'inbound', ApiVersion: '2010-04-01' });
    expect(first.params.CallSid).toMatch(/^CA[0-9a-f]{32}$/);
    // Its media placement is found by CallSid (it was made under the SIP Call-ID, before the CallSid existed).
    const trace = (await readPlacementTrace(cp.redis, PREFIX, first.params.CallSid!)) as { kind?: string; chosen?: { nodeId?: string } }[] | undefined;
    expect(trace?.length).toBeGreaterThanOrEqual(1);
    expect(trace?.[0]).toMatchObject({ kind: 'local', chosen: { nodeId: expect.stringMatching(/^it-media-/) } });
  });

  it('Gather: digits SIPp sends as RFC 2833 events reach the action URL as Digits', async () => {
    const r = new twilio.twiml.VoiceResponse();
    const g = r.gather({ numDigits: 3, action: `${appUrl}/gathered`, timeout: 5 });
    g.say('Enter three digits.');
    r.say('We did not get your input.');
    routes.set('/gather', () => xml(r));
    routes.set('/gathered', () => ({ body: '<Response><Say>Thank you.</Say></Response>' }));
    await provision('+15550000102', '/gather');
    const party = await RtpParty.bind(PARTY_IP);
    const res = await call('+15550000102', party, 'uac-app-dtmf.xml');
    party.close();
    expect(res.successfulCalls, res.errorsTail).toBe(1);
    const gathered = hits.find((h) => h.path === '/gathered');
    expect(gathered?.params.Digits).toBe('123');
    expect(gathered?.signatureValid).toBe(true);
  });

  describe('fallback', () => {
    const fallbackDoc = { body: '<Response><Say>This is the fallback.</Say></Response>' };
    it.each([
      ['returns 500', '/fb-500', (): { status: number; body: string } => ({ status: 500, body: 'oops' }), '11200'],
      ['times out', '/fb-slow', (): { body: string; delayMs: number } => ({ body: '<Response><Hangup/></Response>', delayMs: 3000 }), '11205'],
      ['returns garbage', '/fb-garbage', (): { body: string } => ({ body: 'this is not <xml' }), '12100'],
    ])('primary %s → the fallback document runs with ErrorCode', async (_what, path, handler, code) => {
      routes.set(path, handler);
      routes.set(`${path}-fallback`, () => fallbackDoc);
      const number = `+1555000${String(200 + ['/fb-500', '/fb-slow', '/fb-garbage'].indexOf(path))}`;
      await provision(number, path, { fallback: `${path}-fallback`, voiceTimeout: 1 });
      const party = await RtpParty.bind(PARTY_IP);
      const res = await call(number, party);
      party.close();
      expect(res.successfulCalls, res.errorsTail).toBe(1);
      const fb = hits.find((h) => h.path === `${path}-fallback`);
      expect(fb?.params.ErrorCode).toBe(code);
      expect(fb?.params.ErrorUrl).toBe(`${appUrl}${path}`);
      expect(audioMs(party.audio())).toBeGreaterThan(800);
    });

    it('both fail → a spoken error, hang-up, and the status callback reports the error', async () => {
      routes.set('/both-bad', () => ({ status: 503, body: 'down' }));
      routes.set('/both-bad-fallback', () => ({ status: 500, body: 'down too' }));
      await provision('+15550000301', '/both-bad', { fallback: '/both-bad-fallback' });
      const party = await RtpParty.bind(PARTY_IP);
      const res = await call('+15550000301', party);
      party.close();
      expect(res.successfulCalls, res.errorsTail).toBe(1);
      expect(audioMs(party.audio())).toBeGreaterThan(1500);
      const status = await waitFor(() => hits.find((h) => h.path === '/status' && h.params.To === '+15550000301' && h.params.ErrorCode !== undefined), 5000, 'error report');
      expect(status.params.ErrorCode).toBe('11200');
      expect(status.signatureValid).toBe(true);
    });
  });

  it('Record: the recording lasts as long as the caller spoke (within 10 %) and is served as WAV', async () => {
    const r = new twilio.twiml.VoiceResponse();
    r.record({ maxLength: 10, finishOnKey: '#', action: `${appUrl}/recorded`, playBeep: true });
    routes.set('/record', () => xml(r));
    routes.set('/recorded', () => ({ body: '<Response><Hangup/></Response>' }));
    await provision('+15550000401', '/record');
    const party = await RtpParty.bind(PARTY_IP);
    const done = call('+15550000401', party);
    // The beep is the cue: speak for 3 s after it ends, then press #.
    await waitFor(() => (party.audio().length >= 20 ? true : undefined), 10_000, 'the beep');
    await waitFor(() => {
      const last = party.audio().at(-1)!;
      return performance.now() - last.at > 200 ? true : undefined;
    }, 5000, 'the beep to end');
    party.startStream(0x42);
    const spokeFrom = performance.now();
    await new Promise((res) => setTimeout(res, 3000));
    party.stopStream();
    const spokeMs = performance.now() - spokeFrom;
    await party.pressKey('#');
    const res = await done;
    party.close();
    expect(res.successfulCalls, res.errorsTail).toBe(1);
    const recorded = await waitFor(() => hits.find((h) => h.path === '/recorded'), 5000, '/recorded');
    expect(recorded.params.Digits).toBe('#');
    const durationS = Number(recorded.params.RecordingDuration);
    expect(Math.abs(durationS * 1000 - spokeMs)).toBeLessThanOrEqual(0.1 * spokeMs + 500); // whole seconds in the dialect
    const wav = await fetch(`${recorded.params.RecordingUrl!.replace('http://127.0.0.1:8080', cp.url)}.wav`, { headers: { Authorization: `Basic ${Buffer.from(`${account.sid}:${account.authToken}`).toString('base64')}` } });
    expect(wav.status).toBe(200);
    const body = Buffer.from(await wav.arrayBuffer());
    const wavMs = ((body.length - 44) / 16000) * 1000;
    console.log('router Record, measured:', JSON.stringify({ wavMs, spokeMs: Math.round(spokeMs), recordingDurationS: durationS }));
    expect(Math.abs(wavMs - spokeMs) / spokeMs, `recording ${wavMs} ms vs spoken ${spokeMs} ms`).toBeLessThan(0.1);
  });

  it('Queue: A waits hearing the wait application, B dequeues with Dial→Queue, RTP flows between A and B', async () => {
    routes.set('/enqueue', () => ({ body: '<Response><Enqueue waitUrl="/wait">support</Enqueue><Say>Goodbye.</Say></Response>' }));
    routes.set('/wait', () => ({ body: `<Response><Play>${appUrl}/tone.wav</Play></Response>` }));
    routes.set('/agent', () => ({ body: '<Response><Dial timeout="10"><Queue>support</Queue></Dial></Response>' }));
    await provision('+15550000501', '/enqueue');
    await provision('+15550000502', '/agent');
    const a = await RtpParty.bind(PARTY_IP);
    const b = await RtpParty.bind('127.0.19.4');
    const callA = call('+15550000501', a);
    await waitFor(() => (a.audio().length >= 50 ? true : undefined), 15_000, 'A hears the wait music');
    const wait = hits.find((h) => h.path === '/wait')!;
    expect(wait.params.QueuePosition).toBe('1');
    a.startStream(0xa1);
    const callB = call('+15550000502', b);
    // B hears A's bytes once bridged; then B speaks and A hears B's.
    await waitFor(() => (b.audio().some((p) => p.payload[0] === 0xa1) ? true : undefined), 15_000, 'B hears A');
    b.startStream(0xb2);
    await waitFor(() => (a.audio().some((p) => p.payload[0] === 0xb2) ? true : undefined), 5000, 'A hears B');
    const bridgedAt = performance.now();
    await new Promise((r) => setTimeout(r, 2000));
    const aHeardB = a.audio(bridgedAt).filter((p) => p.payload[0] === 0xb2).length;
    const bHeardA = b.audio(bridgedAt).filter((p) => p.payload[0] === 0xa1).length;
    console.log('router Queue bridge, measured over 2 s:', JSON.stringify({ aHeardB, bHeardA }));
    expect(aHeardB).toBeGreaterThan(80);
    expect(bHeardA).toBeGreaterThan(80);
    // No wait music reaches A any more once bridged.
    expect(a.audio(bridgedAt).filter((p) => p.payload[0] !== 0xb2).length).toBeLessThan(5);
    // B hangs up through the API: the bridge ends, A goes on after <Enqueue> (Say Goodbye) and is hung up.
    const agentCall = (await client.calls.list({ to: '+15550000502', status: 'in-progress' }))[0]!;
    await client.calls(agentCall.sid).update({ status: 'completed' });
    a.stopStream();
    b.stopStream();
    const [resA, resB] = await Promise.all([callA, callB]);
    a.close();
    b.close();
    expect(resA.successfulCalls, resA.errorsTail).toBe(1);
    expect(resB.successfulCalls, resB.errorsTail).toBe(1);
  });

  it('Queue: the API dequeues the front member with a Url, which the waiting caller then runs', async () => {
    routes.set('/enqueue-api', () => ({ body: '<Response><Enqueue waitUrl="/wait-api">api-line</Enqueue></Response>' }));
    routes.set('/wait-api', () => ({ body: '<Response><Say>Please hold.</Say><Pause length="1"/></Response>' }));
    routes.set('/picked', () => ({ body: '<Response><Say>You were picked.</Say></Response>' }));
    await provision('+15550000601', '/enqueue-api');
    const a = await RtpParty.bind(PARTY_IP);
    const callA = call('+15550000601', a);
    await waitFor(() => (hits.some((h) => h.path === '/wait-api') ? true : undefined), 10_000, 'A waiting');
    const queue = (await client.queues.list()).find((q) => q.friendlyName === 'api-line')!;
    expect(queue.currentSize).toBe(1);
    await client.queues(queue.sid).members('Front').update({ url: `${appUrl}/picked`, method: 'POST' });
    const res = await callA;
    a.close();
    expect(res.successfulCalls, res.errorsTail).toBe(1);
    const picked = hits.find((h) => h.path === '/picked');
    expect(picked?.params.To).toBe('+15550000601');
    expect((await client.queues(queue.sid).fetch()).currentSize).toBe(0);
  });

  it('Dial Number: the callee is rung through the route table, RTP flows both ways, and the action gets DialCallStatus', async () => {
    const r = new twilio.twiml.VoiceResponse();
    r.dial({ action: `${appUrl}/dialed`, timeout: 10 }).number('+15551234567');
    routes.set('/dial', () => xml(r));
    routes.set('/dialed', () => ({ body: '<Response><Hangup/></Response>' }));
    await provision('+15550000701', '/dial');
    const uas = await startSipp({ scenario: 'uas-echo.xml', localAddress: CALLEE.address, localPort: CALLEE.port, mediaPort: 22100, rtpEcho: true, timeoutMs: 60_000 });
    await uas.ready;
    const a = await RtpParty.bind(PARTY_IP);
    const callA = call('+15550000701', a);
    // Nothing is played to A before the bridge, so A cannot learn where to send from a first packet:
    // once the child call is answered, take the address from A's 200 OK SDP and start talking.
    const child = await waitFor(async () => (await client.calls.list({ to: '+15551234567', status: 'in-progress' }))[0], 10_000, 'child call answered');
    expect(child.parentCallSid).toMatch(/^CA/);
    a.setRemote(...(await answerTarget(child.parentCallSid)));
    a.startStream(0xc3);
    // The callee echoes A's audio: A hears its own bytes back through both rtpengine sessions.
    await waitFor(() => (a.audio().filter((p) => p.payload[0] === 0xc3).length > 50 ? true : undefined), 10_000, 'echo through the bridge');
    await client.calls(child.sid).update({ status: 'completed' });
    a.stopStream();
    const res = await callA;
    a.close();
    await uas.stop(500);
    expect(res.successfulCalls, res.errorsTail).toBe(1);
    const dialed = await waitFor(() => hits.find((h) => h.path === '/dialed'), 5000, '/dialed');
    expect(dialed.params.DialCallStatus).toBe('completed');
    expect(dialed.params.DialCallSid).toBe(child.sid);
  });

  it('a caller re-INVITE (hold, then resume) during the application is answered recvonly, then sendrecv', async () => {
    routes.set('/hold', () => ({ body: `<Response><Play loop="3">${appUrl}/tone.wav</Play></Response>` }));
    await provision('+15550000801', '/hold');
    const res = await runSipp({
      scenario: 'uac-reinvite.xml',
      target: `${SIG.address}:${SIG.port}`,
      localAddress: CALLER_IP,
      localPort: sippPort++,
      mediaPort: 27900,
      service: '+15550000801',
      calls: 1,
      traceLogs: true,
      timeoutMs: 30_000,
    });
    expect(res.successfulCalls, res.errorsTail).toBe(1);
    expect(res.logLines.join('\n')).toMatch(/hold-answer (recvonly|inactive)/);
    expect(res.logLines.join('\n')).toMatch(/resume-answer sendrecv/);
  });

  it('the media node dies under an application call: the caller gets a BYE within 2 s and the call is completed', async () => {
    // Without media operations after the Play, nothing but the node's death can end the call early.
    routes.set('/long', () => ({ body: `<Response><Play>${appUrl}/tone.wav</Play><Pause length="20"/></Response>` }));
    await provision('+15550000901', '/long');
    const party = await RtpParty.bind(PARTY_IP);
    const done = call('+15550000901', party);
    await waitFor(() => (party.audio().length >= 25 ? true : undefined), 10_000, 'the caller hears the application');
    const live = [...(await client.calls.list({ to: '+15550000901', status: 'in-progress' }))];
    expect(live).toHaveLength(1);
    // The node's metrics count application calls among its active calls.
    expect(nodeMetricsSnapshot(region.node).activeCalls).toBe(1);
    const nodeId = region.node.routing.inbound.mediaNodeOf(live[0]!.sid)!;
    const killedAt = performance.now();
    region.rtpengines.get(nodeId)!.kill('SIGKILL');
    const res = await done;
    const byeAfterMs = performance.now() - killedAt;
    party.close();
    console.log('router media node death, measured:', JSON.stringify({ byeAfterMs: Math.round(byeAfterMs) }));
    expect(res.successfulCalls, res.errorsTail).toBe(1);
    expect(byeAfterMs).toBeLessThan(2000);
    const rec = await waitFor(async () => {
      const c = await client.calls(live[0]!.sid).fetch();
      return c.status === 'completed' ? c : undefined;
    }, 5000, 'call completed');
    expect(Number(rec.duration)).toBeGreaterThanOrEqual(0);
    await region.startMedia(nodeId);
  });

  it('application calls count against sip.maxCalls: with two live, a third INVITE gets 503', async () => {
    routes.set('/hold-on', () => ({ body: '<Response><Pause length="3"/></Response>' }));
    await provision('+15550001001', '/hold-on');
    const parties = [await RtpParty.bind(PARTY_IP), await RtpParty.bind(PARTY_IP)];
    const live = parties.map((p) => call('+15550001001', p));
    await waitFor(() => (region.node.calls.counts()['inbound-app'] === 2 ? true : undefined), 10_000, 'two live application calls');
    const third = await runSipp({
      scenario: 'uac-expect-503.xml',
      target: `${SIG.address}:${SIG.port}`,
      localAddress: CALLER_IP,
      localPort: sippPort++,
      mediaPort: 27950,
      service: '+15550001001',
      calls: 1,
      timeoutMs: 20_000,
    });
    expect(third.successfulCalls, third.errorsTail).toBe(1);
    const results = await Promise.all(live);
    for (const p of parties) p.close();
    for (const r of results) expect(r.successfulCalls, r.errorsTail).toBe(1);
  });

  /** The caller-facing rtpengine address of an inbound call (its 200 OK SDP), from the media node's session. */
  async function answerTarget(callSid: string): Promise<[string, number]> {
    const live = region.node.routing.inbound.mediaTarget(callSid);
    if (live === undefined) throw new Error(`no live inbound call ${callSid}`);
    return [live.address, live.port];
  }
});

import RequestClient from 'twilio/lib/base/RequestClient.js';

class LocalRequestClient extends RequestClient {
  constructor(private readonly base: string) {
    super();
  }
  override request<T>(opts: RequestClient.RequestOptions<T>) {
    return super.request({ ...opts, uri: opts.uri.replace(/^https:\/\/api\.twilio\.com/, this.base) });
  }
}
