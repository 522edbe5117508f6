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
import { chromium, type Browser } from 'playwright-core';
import twilio from 'twilio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSignalingNode, type SignalingNode } from '../../../../infra/signaling-node.js';
import { SecretBox } from '../../../../regions/auth/secret-box.js';
import { startApiHarness, type ApiHarness } from '../../control-plane/api-harness.js';
import { jssipBundle, servePhonePage, toneWav } from '../../../support/jssip-page.js';
import { fileLogger, startMediaSet, testRegionConfig, type MediaSet } from '../b2bua/harness.js';

const { AccessToken } = twilio.jwt;
const PREFIX = `it-browser-call-${process.pid}:`;
const SIG = { address: '127.0.45.1', port: 5060 };
const MEDIA = [{ id: 'bc-media-1', address: '127.0.45.11', ngPort: 2223, rtpPortMin: 45100, rtpPortMax: 45199, capabilities: ['relay', 'play', 'record'] }];
const secretsText = randomBytes(32).toString('hex');

/** Runs in the page: register and call; the confirmed session is left on `globalThis.phone` for measureInPage. Self-contained (serialized by playwright). */
async function callFromPage(a: { wsUrl: string; sipUri: string; target: string; opusOnly: boolean }): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const J = (globalThis as any).JsSIP;
  const ua = new J.UA({ sockets: [new J.WebSocketInterface(a.wsUrl)], uri: a.sipUri, register: true, register_expires: 300, session_timers: false });
  const registered = new Promise<void>((resolve, reject) => {
    ua.on('registered', () => resolve());
    ua.on('registrationFailed', (e: { cause: string; response?: { status_code: number; reason_phrase: string } }) =>
      reject(new Error(`registration failed: ${e.cause} ${e.response ? `${e.response.status_code} ${e.response.reason_phrase}` : ''}`)),
    );
  });
  ua.start();
  await registered;
  const session = ua.call(a.target, { mediaConstraints: { audio: true, video: false }, pcConfig: { iceServers: [] } });
  if (a.opusOnly) {
    // An offer without PCMU: the platform side can only be reached by transcoding.
    session.on('sdp', (e: { originator: string; type: string; sdp: string }) => {
      if (e.originator !== 'local' || e.type !== 'offer') return;
      const lines = e.sdp.split('\r\n');
      const opus = lines.map((l) => /^a=rtpmap:(\d+) opus\//i.exec(l)?.[1]).find((x) => x !== undefined)!;
      e.sdp = lines
        .filter((l) => !/^a=(rtpmap|fmtp|rtcp-fb):(\d+)/.test(l) || new RegExp(`^a=(rtpmap|fmtp|rtcp-fb):${opus}( |$)`).test(l))
        .map((l) => (l.startsWith('m=audio ') ? `${l.split(' ').slice(0, 3).join(' ')} ${opus}` : l))
        .join('\r\n');
    });
  }
  await new Promise<void>((resolve, reject) => {
    session.on('confirmed', () => resolve());
    session.on('failed', (e: { cause: string; message?: { status_code?: number; reason_phrase?: string } }) =>
      reject(new Error(`call failed: ${e.cause} ${e.message?.status_code ?? ''} ${e.message?.reason_phrase ?? ''}`)),
    );
  });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  (globalThis as any).phone = { ua, session };
}

/**
 * Runs in the page: register, and answer the first incoming call (auto-answer); resolves once
 * registered. `globalThis.phone.answered` resolves when the answered call is confirmed.
 */
async function registerToAnswerInPage(a: { wsUrl: string; sipUri: string }): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const g = globalThis as any;
  const J = g.JsSIP;
  const ua = new J.UA({ sockets: [new J.WebSocketInterface(a.wsUrl)], uri: a.sipUri, register: true, register_expires: 300, session_timers: false });
  const phone: Record<string, unknown> = { ua };
  g.phone = phone;
  phone.answered = new Promise<{ callSid: string | undefined }>((resolve, reject) => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    ua.on('newRTCSession', (e: { originator: string; session: any; request: { getHeader(n: string): string | undefined } }) => {
      if (e.originator !== 'remote' || phone.session !== undefined) return;
      phone.session = e.session;
      e.session.on('confirmed', () => resolve({ callSid: e.request.getHeader('X-Mesh-Call-Sid') }));
      e.session.on('failed', (f: { cause: string }) => reject(new Error(`answered call failed: ${f.cause}`)));
      e.session.answer({ mediaConstraints: { audio: true, video: false }, pcConfig: { iceServers: [] } });
    });
  });
  await new Promise<void>((resolve, reject) => {
    ua.on('registered', () => resolve());
    ua.on('registrationFailed', (e: { cause: string }) => reject(new Error(`registration failed: ${e.cause}`)));
    ua.start();
  });
}

/** Runs in the page: wait (bounded) for the auto-answered call to be confirmed. */
async function answeredInPage(timeoutMs: number): Promise<{ callSid: string | undefined }> {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const phone = (globalThis as any).phone as { answered: Promise<{ callSid: string | undefined }> };
  return Promise.race([phone.answered, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no call answered in time')), timeoutMs))]);
}

/** Runs in the page: listen to `globalThis.phone.session` for `listenMs`, read its stats, hang up. */
async function measureInPage(listenMs: number): Promise<Record<string, unknown>> {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const { ua, session } = (globalThis as any).phone;
  const a = { listenMs };
  // Browser globals (the project's TypeScript has no DOM library).
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const g = globalThis as any;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const pc: any = session.connection;
  const track = pc.getReceivers()[0].track;
  const stream = new g.MediaStream([track]);
  // Chromium feeds a remote WebRTC track to WebAudio only while a media element plays it.
  const audio = new g.Audio();
  audio.muted = true;
  audio.srcObject = stream;
  void audio.play().catch(() => undefined);
  const ctx = new g.AudioContext();
  await ctx.resume();
  const analyser = ctx.createAnalyser();
  analyser.fftSize = 2048;
  ctx.createMediaStreamSource(stream).connect(analyser);
  const buf = new Float32Array(analyser.fftSize);
  let peak = 0;
  let loudFrames = 0;
  const until = performance.now() + a.listenMs;
  while (performance.now() < until) {
    analyser.getFloatTimeDomainData(buf);
    let m = 0;
    for (const v of buf) m = Math.max(m, Math.abs(v));
    peak = Math.max(peak, m);
    if (m > 0.05) loudFrames++;
    await new Promise((r) => setTimeout(r, 50));
  }
  const stats: Map<string, Record<string, unknown>> = await pc.getStats();
  let packetsReceived = 0;
  let codecId: string | undefined;
  let dtlsState: string | undefined;
  let pairState: string | undefined;
  let pairId: string | undefined;
  stats.forEach((s) => {
    if (s.type === 'inbound-rtp' && s.kind === 'audio') {
      packetsReceived = s.packetsReceived as number;
      codecId = s.codecId as string;
    }
    if (s.type === 'transport') {
      dtlsState = s.dtlsState as string;
      pairId = s.selectedCandidatePairId as string;
    }
  });
  if (pairId !== undefined) pairState = (stats.get(pairId) as { state?: string } | undefined)?.state;
  const codec = codecId === undefined ? undefined : (stats.get(codecId) as { mimeType?: string } | undefined)?.mimeType;
  const remoteSdp: string = pc.remoteDescription?.sdp ?? '';
  if (!session.isEnded()) session.terminate();
  ua.stop();
  return { packetsReceived, dtlsState, pairState, codec, peak, loudFrames, remoteProto: /^m=audio \d+ (\S+)/m.exec(remoteSdp)?.[1] };
}

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
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--use-fake-ui-for-media-stream',
        '--use-fake-device-for-media-stream',
        '--allow-loopback-in-peer-connection',
        '--disable-background-networking',
        '--no-first-run',
        '--autoplay-policy=no-user-gesture-required',
      ],
    });
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
        await page.evaluate(callFromPage, {
          wsUrl: `ws://${SIG.address}:5066/?access_token=${encodeURIComponent(token)}`,
          sipUri: `sip:alice@${SIG.address}`,
          target: `sip:+15550002@${SIG.address}`,
          opusOnly,
        });
        const r = await page.evaluate(measureInPage, 2500);
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
      await page.evaluate(registerToAnswerInPage, { wsUrl: `ws://${SIG.address}:5066/?access_token=${encodeURIComponent(token)}`, sipUri: `sip:alice@${SIG.address}` });
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
      await alice.evaluate(registerToAnswerInPage, { wsUrl: `ws://${SIG.address}:5066/?access_token=${encodeURIComponent(token)}`, sipUri: `sip:alice@${SIG.address}` });
      await bob.evaluate(registerToAnswerInPage, { wsUrl: `ws://${SIG.address}:5066/?access_token=${encodeURIComponent(bobToken)}`, sipUri: `sip:bob@${SIG.address}` });
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
