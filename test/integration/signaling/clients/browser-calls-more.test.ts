/**
 * Real-browser calls against SIPp and across regions (issue 13, browser tests
 * b–d): Debian's Chromium (playwright-core, fake microphone — it beeps — and
 * loopback ICE allowed) runs JsSIP (test/support/jssip-page.ts), registered
 * with a token the test authenticator knows, in two in-process regions with
 * real Redis, rtpengine and SIPp. The account is homed in us-east.
 *
 * (b) The browser calls; the token's outgoing application `<Dial><Number>`s a
 *     SIPp UAS that echoes RTP. The offer is Opus only, so rtpengine
 *     transcodes Opus ↔ G.711 between the browser and SIPp. Both ways at once:
 *     what the browser hears is its own microphone sent to SIPp and echoed
 *     back (peak on the remote track), and rtpengine's query counts packets
 *     in each direction on the SIPp side.
 * (c) A SIPp carrier (echoing its RTP) calls a number whose application
 *     `<Dial><Client>alice</Client>`s: the page rings, answers, hears its
 *     microphone come back through the carrier; hanging up in the page sends
 *     BYE to the carrier (the scenario only ends well on a BYE).
 * (d) The browser registered on eu-west's node answers a call the API places
 *     `To=client:alice` (anchored in us-east): WebRTC over eu-west's WebSocket,
 *     the media on us-east's rtpengine, the browser hears the `<Play>`ed tone.
 *
 * 127.0.73.0/24 (us-east) and 127.0.74.0/24 (eu-west).
 */
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenantApp } from '../../../../control-plane/api/app.js';
import { RedisCallControl } from '../../../../control-plane/api/call-control.js';
import { startHttpServer, type RunningServer } from '../../../../control-plane/api/server.js';
import { bootstrapAccount } from '../../../../control-plane/store/accounts.js';
import { NgClient } from '../../../../media/ng/client.js';
import type { AccountRecord } from '../../../../regions/store/schema.js';
import { launchChromium } from '../../../support/chromium.js';
import { tableAuthenticator } from '../../../support/client-authenticator.js';
import { answeredInPage, callInPage, hangUpInPage, jssipBundle, measureInPage, registerInPage, servePhonePage, toneWav, type PageMeasure } from '../../../support/jssip-page.js';
import { clearKeys } from '../../../support/redis-keys.js';
import { runSipp, startSipp, type SippInstance } from '../../../support/sipp.js';
import { TEST_REDIS_URL } from '../../global-setup.js';
import { startTestRegion, type TestRegion } from '../b2bua/harness.js';

const PREFIX = `it-browser-more-${process.pid}:`;
const REGIONS = ['us-east', 'eu-west'] as const;
type Region = (typeof REGIONS)[number];
const SIG: Record<Region, { address: string; port: number }> = {
  'us-east': { address: '127.0.73.1', port: 5060 },
  'eu-west': { address: '127.0.74.1', port: 5060 },
};
const MEDIA: Record<Region, { id: string; address: string; ngPort: number; rtpPortMin: number; rtpPortMax: number }> = {
  'us-east': { id: 'it-bm-us-media', address: '127.0.73.11', ngPort: 2223, rtpPortMin: 47300, rtpPortMax: 47399 },
  'eu-west': { id: 'it-bm-eu-media', address: '127.0.74.11', ngPort: 2223, rtpPortMin: 47400, rtpPortMax: 47499 },
};
const CARRIER = { address: '127.0.73.2', port: 5070, mediaPort: 27300 };
const ECHO = { address: '127.0.73.3', port: 5090, mediaPort: 27310 };
const WS_PORT = 5066;

describe('a browser calls SIPp, is called by a SIPp carrier, and answers across regions', () => {
  const regions = new Map<Region, TestRegion>();
  const tokens: Parameters<typeof tableAuthenticator>[0] = {};
  let api: RunningServer;
  let web: ServerType;
  let base: string;
  let account: AccountRecord;
  let browser: Browser | undefined;
  let echo: SippInstance | undefined;
  const docs = new Map<string, string>();
  const hits: { path: string; params: Record<string, string> }[] = [];

  beforeAll(async () => {
    await clearKeys(TEST_REDIS_URL, PREFIX);
    const auth = tableAuthenticator(tokens);
    for (const region of REGIONS) {
      regions.set(
        region,
        await startTestRegion({
          keyPrefix: PREFIX,
          region,
          nodeId: `it-bm-${region}-sig`,
          sip: SIG[region],
          mediaNodes: [MEDIA[region]],
          routes: [{ prefix: '+1555', destination: `sip:${ECHO.address}:${ECHO.port}` }],
          mesh: { peers: REGIONS.filter((r) => r !== region).map((r) => ({ region: r, ...SIG[r] })), homeRules: [] },
          clientAuthenticator: auth,
        }),
      );
    }
    const redis = regions.get('us-east')!.node.redis;
    account = await bootstrapAccount(redis, PREFIX, { friendlyName: 'browsers', homeRegion: 'us-east' });
    api = await startHttpServer(
      createTenantApp({ redis, keyPrefix: PREFIX, defaultRegion: 'us-east', regions: [...REGIONS], callControl: new RedisCallControl(redis, PREFIX) }),
      { hostname: '127.0.0.1', port: 0 },
    );
    const jssip = await jssipBundle();
    const wav = toneWav(440, 8);
    const app = new Hono();
    servePhonePage(app, jssip);
    app.get('/tone.wav', (c) => c.body(new Uint8Array(wav), 200, { 'Content-Type': 'audio/wav' }));
    app.post('*', async (c) => {
      const path = new URL(c.req.url).pathname;
      const params: Record<string, string> = {};
      for (const [k, v] of Object.entries(await c.req.parseBody())) params[k] = String(v);
      hits.push({ path, params });
      return c.body(docs.get(path) ?? '<Response><Hangup/></Response>', 200, { 'Content-Type': 'text/xml' });
    });
    web = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 });
    await new Promise((r) => web.once('listening', r));
    base = `http://127.0.0.1:${(web.address() as AddressInfo).port}`;
    browser = await launchChromium();
  }, 40_000);

  afterAll(async () => {
    await browser?.close();
    await echo?.stop(500);
    await api?.close();
    for (const r of regions.values()) await r.close();
    await new Promise((r) => web?.close(r));
    await clearKeys(TEST_REDIS_URL, PREFIX);
  });

  async function post(path: string, form: Record<string, string>): Promise<{ status: number; body: Record<string, unknown> }> {
    const res = await fetch(`${api.url}/2010-04-01/Accounts/${account.sid}${path}`, {
      method: 'POST',
      headers: { Authorization: `Basic ${Buffer.from(`${account.sid}:${account.authToken}`).toString('base64')}`, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(form).toString(),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  async function application(path: string, doc: string): Promise<string> {
    docs.set(path, doc);
    const a = await post('/Applications.json', { FriendlyName: path, VoiceUrl: `${base}${path}` });
    expect(a.status, JSON.stringify(a.body)).toBe(201);
    return a.body.sid as string;
  }

  /** A fresh page registered as alice on `region`'s node (auto-answering when `answer`). */
  async function phonePage(region: Region, token: string, answer: boolean): Promise<Page> {
    const page = await browser!.newPage();
    await page.goto(`${base}/phone.html`);
    await page.evaluate(registerInPage, { wsUrl: `ws://${SIG[region].address}:${WS_PORT}/?access_token=${token}`, sipUri: `sip:alice@${SIG[region].address}`, answer });
    return page;
  }

  /**
   * ICE, DTLS and WebRTC towards the browser; packets both ways; sound on the remote track, in
   * at least `loudLooks` of the 50 ms looks (Chromium's fake microphone beeps briefly once a
   * second: 1 for an echoed beep; a tone is loud throughout).
   */
  function expectTwoWayWebRtc(r: PageMeasure, loudLooks: number): void {
    expect(r.remoteProto).toBe('UDP/TLS/RTP/SAVPF');
    expect(r.pairState).toBe('succeeded');
    expect(r.dtlsState).toBe('connected');
    // 2.5 s of 20 ms packets is ~125; allow for set-up time.
    expect(r.packetsReceived).toBeGreaterThan(60);
    expect(r.packetsSent).toBeGreaterThan(60);
    expect(r.peak, 'sound on the remote track').toBeGreaterThan(0.1);
    expect(r.loudFrames).toBeGreaterThanOrEqual(loudLooks);
  }

  it('(b) calls a SIPp UAS that echoes, Opus-only offer: transcoded both ways, the browser hears its microphone back', async () => {
    const uas = await startSipp({ scenario: 'uas-echo.xml', localAddress: ECHO.address, localPort: ECHO.port, mediaPort: ECHO.mediaPort, rtpEcho: true, timeoutMs: 120_000 });
    echo = uas;
    await uas.ready;
    const appSid = await application('/dial-echo', '<Response><Dial timeout="10"><Number>+15557300001</Number></Dial></Response>');
    tokens['tok-alice-out'] = { accountSid: account.sid, identity: 'alice', outgoing: { applicationSid: appSid, params: {} } };
    const page = await phonePage('us-east', 'tok-alice-out', false);
    try {
      await page.evaluate(callInPage, { target: `sip:+15557300001@${SIG['us-east'].address}`, opusOnly: true });
      const r = await page.evaluate(measureInPage, 2500);
      console.log('(b) browser → SIPp echo:', JSON.stringify(r));
      expectTwoWayWebRtc(r, 1);
      expect(r.codec).toBe('audio/opus');
      // The SIPp side, from rtpengine: packets from SIPp (its echo) and towards it (the browser's, transcoded).
      const ng = new NgClient({ address: MEDIA['us-east'].address, port: MEDIA['us-east'].ngPort, timeoutMs: 2000 });
      const legs: { protocol: string; codec: string; flags: string[]; endpoint: string | undefined; in: number; peerIn: number | undefined }[] = [];
      for (const id of await ng.list()) {
        const q = await ng.query(id);
        const rawTags = q.raw.tags as Record<string, { medias: { protocol: string; codec: string; flags: string[] }[] }>;
        for (const t of Object.values(q.tags)) {
          const m = rawTags[t.tag]!.medias[0]!;
          const peer = t.inDialogueWith === undefined ? undefined : q.tags[t.inDialogueWith];
          legs.push({ protocol: m.protocol, codec: m.codec, flags: m.flags, endpoint: t.medias[0]?.streams[0]?.endpoint?.address, in: t.rtp.in.packets, peerIn: peer?.rtp.in.packets });
        }
      }
      console.log('(b) rtpengine legs:', JSON.stringify(legs));
      // The browser's side: Opus over DTLS-SRTP, transcoded; SIPp's: PCMU, packets both ways.
      const atBrowser = legs.find((l) => l.protocol === 'UDP/TLS/RTP/SAVPF');
      expect(atBrowser).toMatchObject({ codec: 'opus/48000/2', flags: expect.arrayContaining(['transcoding']) });
      const atSipp = legs.find((l) => l.endpoint === ECHO.address);
      expect(atSipp).toMatchObject({ protocol: 'RTP/AVP', codec: 'PCMU/8000' });
      expect(atSipp!.in, 'packets from SIPp (its echo)').toBeGreaterThan(60);
      expect(atSipp!.peerIn, 'packets towards SIPp (the browser\'s, transcoded)').toBeGreaterThan(60);
      await ng.close();
      expect(hits.find((h) => h.path === '/dial-echo')?.params).toMatchObject({ From: 'client:alice', To: '+15557300001' });
      await page.evaluate(hangUpInPage);
    } finally {
      await page.close();
    }
    const res = await uas.stop(1000);
    echo = undefined;
    expect(res.successfulCalls, res.errorsTail).toBe(1);
  }, 40_000);

  it('(c) a SIPp carrier calls <Dial><Client>alice</Client>: the page rings, answers, audio both ways, its hang-up sends BYE to the carrier', async () => {
    const appSid = await application('/dial-alice', `<Response><Dial action="${base}/dialed-alice" timeout="15"><Client>alice</Client></Dial></Response>`);
    const n = await post('/IncomingPhoneNumbers.json', { PhoneNumber: '+15557300002', VoiceApplicationSid: appSid });
    expect(n.status, JSON.stringify(n.body)).toBe(201);
    tokens['tok-alice'] = { accountSid: account.sid, identity: 'alice' };
    const page = await phonePage('us-east', 'tok-alice', true);
    try {
      // The carrier's SDP points at SIPp's own media port, which echoes what reaches it.
      const carrier = runSipp({
        scenario: 'uac-app.xml',
        target: `${SIG['us-east'].address}:${SIG['us-east'].port}`,
        localAddress: CARRIER.address,
        localPort: CARRIER.port,
        mediaPort: CARRIER.mediaPort,
        rtpEcho: true,
        service: '+15557300002',
        calls: 1,
        keys: { rtpaddr: CARRIER.address, rtpport: String(CARRIER.mediaPort) },
        timeoutMs: 35_000,
      });
      const answered = await page.evaluate(answeredInPage, 15_000);
      expect(answered.callSid).toMatch(/^CA[0-9a-f]{32}$/);
      const r = await page.evaluate(measureInPage, 2500);
      console.log('(c) SIPp carrier → browser:', JSON.stringify(r));
      expectTwoWayWebRtc(r, 1);
      const ended = await page.evaluate(hangUpInPage);
      expect(ended).toEqual(['local:Terminated']);
      const res = await carrier;
      // uac-app ends well only after the platform's BYE (and its 200).
      expect(res.timedOut).toBe(false);
      expect(res.successfulCalls, res.errorsTail).toBe(1);
      expect(res.screen.find((row) => row.name === 'BYE' && row.direction === 'in')?.messages).toBe(1);
      expect(hits.find((h) => h.path === '/dialed-alice')?.params.DialCallStatus).toBe('completed');
    } finally {
      await page.close();
    }
  }, 40_000);

  it('(d) a browser registered on eu-west answers an API call anchored in us-east and hears the tone', async () => {
    tokens['tok-alice'] = { accountSid: account.sid, identity: 'alice' };
    const page = await phonePage('eu-west', 'tok-alice', true);
    try {
      docs.set('/tone', `<Response><Play>${base}/tone.wav</Play></Response>`);
      const created = await post('/Calls.json', { To: 'client:alice', From: '+15557300003', Url: `${base}/tone` });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      const answered = await page.evaluate(answeredInPage, 15_000);
      expect(answered.callSid).toBe(created.body.sid);
      const r = await page.evaluate(measureInPage, 2500);
      console.log('(d) us-east API call → browser on eu-west:', JSON.stringify(r));
      expectTwoWayWebRtc(r, 20);
      expect(r.codec).toBe('audio/PCMU');
      // eu-west relayed the leg over the browser's WebSocket; the media stayed in us-east.
      expect(regions.get('eu-west')!.node.b2bua.activeCalls).toBe(1);
      const remote = await page.evaluate(() => ((globalThis as unknown as { phone: { session: { connection: { remoteDescription: { sdp: string } } } } }).phone.session.connection.remoteDescription.sdp));
      expect(remote).toContain(`c=IN IP4 ${MEDIA['us-east'].address}`);
      await page.evaluate(hangUpInPage);
    } finally {
      await page.close();
    }
  }, 40_000);
});
