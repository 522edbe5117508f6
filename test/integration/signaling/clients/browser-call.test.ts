/**
 * A real browser places a client call (issue 13, items 2 and 3): Debian's
 * Chromium (playwright-core, fake media devices, loopback ICE allowed) loads a
 * page with JsSIP (bundled from node_modules with esbuild at test time),
 * registers over ws://127.0.45.1:5066 with a token minted by the `twilio`
 * library (`access_token` in the WebSocket URL), and calls; the token's
 * application answers with `<Play>` of a 440 Hz tone. The signaling node
 * anchors the browser on rtpengine with WebRTC on its side (ICE, DTLS-SRTP,
 * rtcp-mux) and plain RTP on the platform's.
 *
 * Checked in the page: ICE and DTLS completed (the selected candidate pair
 * succeeded, the transport's dtlsState is connected), RTP packets received
 * (getStats inbound-rtp), and the remote track carries sound (a WebAudio
 * analyser sees non-silent samples; headless getStats audio levels stay 0).
 * Twice: with Chromium's own offer (PCMU in it: no transcoding) and with an
 * Opus-only offer, which rtpengine transcodes Opus ↔ PCMU.
 *
 * Then the other way (issue 13, item 5): the browser, registered as alice
 * (JsSIP puts `+sip.ice` on its Contact), auto-answers a call the API places
 * `To=client:alice` whose Url `<Play>`s the tone; the client leg is offered
 * WebRTC and the same checks hold in the answering browser.
 *
 * 127.0.45.0/24.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import type { Browser } from 'playwright-core';
import twilio from 'twilio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSignalingNode, type SignalingNode } from '../../../../infra/signaling-node.js';
import { SecretBox } from '../../../../regions/auth/secret-box.js';
import { startApiHarness, type ApiHarness } from '../../control-plane/api-harness.js';
import { launchChromium } from '../../../support/chromium.js';
import { answeredInPage, callInPage, hangUpInPage, jssipBundle, measureInPage, registerInPage, servePhonePage, toneWav } from '../../../support/jssip-page.js';
import { fileLogger, startMediaSet, testRegionConfig, type MediaSet } from '../b2bua/harness.js';

const { AccessToken } = twilio.jwt;
const PREFIX = `it-browser-call-${process.pid}:`;
const SIG = { address: '127.0.45.1', port: 5060 };
const MEDIA = [{ id: 'bc-media-1', address: '127.0.45.11', ngPort: 2223, rtpPortMin: 45100, rtpPortMax: 45199, capabilities: ['relay', 'play', 'record'] }];
const secretsText = randomBytes(32).toString('hex');

describe('a browser calls an application with a twilio-minted token', () => {
  let h: ApiHarness;
  let media: MediaSet;
  let node: SignalingNode;
  let web: ServerType;
  let browser: Browser | undefined;
  let pageUrl: string;
  let token: string;
  let bobToken: string;
  let logEnd: () => void;
  const fetched: Record<string, string>[] = [];

  beforeAll(async () => {
    const jssip = await jssipBundle();
    h = await startApiHarness(PREFIX, { secrets: SecretBox.fromText(secretsText) });
    const wav = toneWav(440, 6);
    const app = new Hono();
    servePhonePage(app, jssip);
    app.get('/tone.wav', (c) => c.body(new Uint8Array(wav), 200, { 'Content-Type': 'audio/wav' }));
    app.post('/voice', async (c) => {
      const params: Record<string, string> = {};
      for (const [k, v] of Object.entries(await c.req.parseBody())) params[k] = String(v);
      fetched.push(params);
      return c.body(`<Response><Play>${new URL('/tone.wav', c.req.url).href}</Play></Response>`, 200, { 'Content-Type': 'text/xml' });
    });
    app.post('/dial-bob', (c) => c.body('<Response><Dial timeout="15"><Client>bob</Client></Dial></Response>', 200, { 'Content-Type': 'text/xml' }));
    web = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 });
    await new Promise((r) => web.once('listening', r));
    const base = `http://127.0.0.1:${(web.address() as AddressInfo).port}`;
    pageUrl = `${base}/phone.html`;

    const k = await h.req('POST', `/2010-04-01/Accounts/${h.account.sid}/Keys.json`, { form: { FriendlyName: 'browser' } });
    expect(k.status).toBe(201);
    const a = await h.req('POST', `/2010-04-01/Accounts/${h.account.sid}/Applications.json`, { form: { FriendlyName: 'tone', VoiceUrl: `${base}/voice` } });
    expect(a.status).toBe(201);
    const t = new AccessToken(h.account.sid, k.body.sid, k.body.secret, { identity: 'alice', ttl: 600 });
    t.addGrant(new AccessToken.VoiceGrant({ outgoingApplicationSid: a.body.sid, outgoingApplicationParams: { shop: 'north' }, incomingAllow: true }));
    token = t.toJwt();
    const tb = new AccessToken(h.account.sid, k.body.sid, k.body.secret, { identity: 'bob', ttl: 600 });
    tb.addGrant(new AccessToken.VoiceGrant({ incomingAllow: true }));
    bobToken = tb.toJwt();

    const logDir = mkdtempSync(join(tmpdir(), 'mesh-browser-call-'));
    const config = testRegionConfig({ keyPrefix: PREFIX, nodeId: 'bc-sig-1', sip: SIG, mediaNodes: MEDIA, routes: [] }, logDir);
    media = await startMediaSet(MEDIA, logDir, `${SIG.address}:${config.media.dtmfEventPort}`);
    const { log, end } = fileLogger(logDir);
    logEnd = end;
    node = await startSignalingNode({ ...config, secretsKey: secretsText }, log);
    browser = await launchChromium();
  }, 30_000);

  afterAll(async () => {
    await browser?.close();
    await node?.close();
    await media?.close();
    await new Promise((r) => web?.close(r));
    await h?.close();
    logEnd?.();
  });

  for (const opusOnly of [false, true]) {
    it(`registers, calls and hears the tone over ICE + DTLS-SRTP${opusOnly ? ' (Opus-only offer: transcoded to PCMU)' : ''}`, async () => {
      const page = await browser!.newPage();
      try {
        await page.goto(pageUrl);
        await page.evaluate(registerInPage, { wsUrl: `ws://${SIG.address}:5066/?access_token=${encodeURIComponent(token)}`, sipUri: `sip:alice@${SIG.address}`, answer: false });
        await page.evaluate(callInPage, { target: `sip:+15550002@${SIG.address}`, opusOnly });
        const r = await page.evaluate(measureInPage, 2500);
        await page.evaluate(hangUpInPage);
        expect(r.remoteProto).toBe('UDP/TLS/RTP/SAVPF');
        expect(r.pairState).toBe('succeeded');
        expect(r.dtlsState).toBe('connected');
        expect(r.codec).toBe(opusOnly ? 'audio/opus' : 'audio/PCMU');
        // 2.5 s of 20 ms packets is ~125; allow for set-up time.
        expect(r.packetsReceived as number).toBeGreaterThan(60);
        expect(r.peak as number, 'the tone on the remote track').toBeGreaterThan(0.1);
        expect(r.loudFrames as number).toBeGreaterThan(10);
        expect(fetched.at(-1)).toMatchObject({ From: 'client:alice', To: '+15550002', shop: 'north' });
      } finally {
        await page.close();
      }
    }, 30_000);
  }

  it('answers a call placed by the API To=client:alice: the client leg is offered WebRTC, and the browser hears the tone', async () => {
    const page = await browser!.newPage();
    try {
      await page.goto(pageUrl);
      await page.evaluate(registerInPage, { wsUrl: `ws://${SIG.address}:5066/?access_token=${encodeURIComponent(token)}`, sipUri: `sip:alice@${SIG.address}`, answer: true });
      const created = await h.req('POST', `/2010-04-01/Accounts/${h.account.sid}/Calls.json`, { form: { To: 'client:alice', From: '+15550003', Url: new URL('/voice', pageUrl).href } });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      const answered = await page.evaluate(answeredInPage, 15_000);
      expect(answered.callSid).toBe(created.body.sid);
      const r = await page.evaluate(measureInPage, 2500);
      console.log('browser answers To=client:alice:', JSON.stringify(r));
      // The offer the browser got: rtpengine's WebRTC side (a plain RTP/AVP offer would leave it without media).
      expect(r.remoteProto).toBe('UDP/TLS/RTP/SAVPF');
      expect(r.pairState).toBe('succeeded');
      expect(r.dtlsState).toBe('connected');
      expect(r.codec).toBe('audio/PCMU');
      expect(r.packetsReceived as number).toBeGreaterThan(60);
      expect(r.peak as number, 'the tone on the remote track').toBeGreaterThan(0.1);
      expect(r.loudFrames as number).toBeGreaterThan(10);
      expect(fetched.at(-1)).toMatchObject({ CallSid: created.body.sid, To: 'client:alice', Direction: 'outbound-api' });
    } finally {
      await page.close();
    }
  }, 40_000);

  it('bridges two browsers: API To=client:alice whose application <Dial><Client>bob</Client>; both legs stay WebRTC through the bridge', async () => {
    const [alice, bob] = [await browser!.newPage(), await browser!.newPage()];
    try {
      await alice.goto(pageUrl);
      await bob.goto(pageUrl);
      await alice.evaluate(registerInPage, { wsUrl: `ws://${SIG.address}:5066/?access_token=${encodeURIComponent(token)}`, sipUri: `sip:alice@${SIG.address}`, answer: true });
      await bob.evaluate(registerInPage, { wsUrl: `ws://${SIG.address}:5066/?access_token=${encodeURIComponent(bobToken)}`, sipUri: `sip:bob@${SIG.address}`, answer: true });
      const created = await h.req('POST', `/2010-04-01/Accounts/${h.account.sid}/Calls.json`, { form: { To: 'client:alice', From: '+15550004', Url: new URL('/dial-bob', pageUrl).href } });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      await alice.evaluate(answeredInPage, 15_000);
      await bob.evaluate(answeredInPage, 15_000);
      // Both listen at once: each hears the other's (fake) microphone through the bridge.
      const [ra, rb] = await Promise.all([alice.evaluate(measureInPage, 2500), bob.evaluate(measureInPage, 2500)]);
      console.log('bridged browsers: alice', JSON.stringify(ra), 'bob', JSON.stringify(rb));
      for (const r of [ra, rb]) {
        expect(r.remoteProto).toBe('UDP/TLS/RTP/SAVPF');
        expect(r.pairState).toBe('succeeded');
        expect(r.dtlsState).toBe('connected');
        expect(r.packetsReceived as number).toBeGreaterThan(60);
        // Chromium's fake microphone beeps: the other browser's sound arrives.
        expect(r.peak as number).toBeGreaterThan(0.1);
      }
    } finally {
      await alice.close();
      await bob.close();
    }
  }, 45_000);
});
