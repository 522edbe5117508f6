/**
 * The softphone page's in-call controls in a real browser (issue 13, item 5):
 * Debian's chromium loads /client/ from the control plane, registers as alice
 * with a token the `twilio` library minted from an API key (the node's real
 * token verifier: `secretsKey`), and a call the API places `To=client:alice`
 * rings it. Its application `<Gather>`s three digits around a `<Play>` of a
 * 440 Hz tone. Through the page only (clicks, and what it shows):
 * ringing (`incoming`) → Answer → `connected`, the level meter above -100
 * dBFS while the tone plays; keypad 1, 2, 3 → the Gather action gets
 * Digits=123 (RFC 4733 events, reported by rtpengine); Mute → the
 * microphone track is disabled and what is sent is silence (Chromium keeps
 * sending packets for a disabled track), Unmute → sound again; Hang up → `ended`, and the call record is `completed`.
 * The page's RTCPeerConnection is read through a wrapper the test installs
 * before the page loads (getStats only; the page is unchanged).
 * 127.0.83.1 control plane, .10 signaling node, .11 media.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import type { Browser, Page } from 'playwright-core';
import twilio from 'twilio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSoftphone } from '../../../infra/build-client.js';
import { parseConfig } from '../../../infra/config.js';
import { startControlPlane, type ControlPlane } from '../../../infra/control-plane.js';
import { startSignalingNode, type SignalingNode } from '../../../infra/signaling-node.js';
import { SecretBox } from '../../../regions/auth/secret-box.js';
import { silentLogger } from '../../../regions/core/log.js';
import { launchChromium } from '../../support/chromium.js';
import { waitUntil } from '../../support/wait.js';
import { TEST_REDIS_URL } from '../global-setup.js';
import { fileLogger, startMediaSet, testRegionConfig, type MediaSet } from '../signaling/b2bua/harness.js';
import { startApiHarness, type ApiHarness } from './api-harness.js';
import { toneWav } from '../../support/jssip-page.js';

const { AccessToken } = twilio.jwt;
const PREFIX = `it-softphone-incall-${process.pid}:`;
const CP_ADDRESS = '127.0.83.1';
const SIG = { address: '127.0.83.10', port: 5060 };
const MEDIA = [{ id: 'si-media-1', address: '127.0.83.11', ngPort: 2223, rtpPortMin: 45300, rtpPortMax: 45399, capabilities: ['relay', 'play', 'record'] }];
const WS_URL = `ws://${SIG.address}:5066`;
const secretsText = randomBytes(32).toString('hex');

/** Runs before the page's scripts: keeps every RTCPeerConnection the page makes on `globalThis.__pcs`. */
function recordPeerConnections(): void {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const g = globalThis as any;
  const Native = g.RTCPeerConnection;
  g.__pcs = [];
  g.RTCPeerConnection = class extends Native {
    constructor(...args: unknown[]) {
      super(...args);
      g.__pcs.push(this);
    }
  };
}

/** Runs in the page: the last peer connection's outbound audio (packets sent, the microphone's energy so far, whether its track is enabled). */
async function outbound(): Promise<{ packetsSent: number; totalAudioEnergy: number; trackEnabled: boolean | undefined; telephoneEvent: boolean }> {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const pc = (globalThis as any).__pcs.at(-1);
  const stats: Map<string, Record<string, unknown>> = await pc.getStats();
  let packetsSent = 0;
  let totalAudioEnergy = 0;
  stats.forEach((s) => {
    if (s.type === 'outbound-rtp' && s.kind === 'audio') packetsSent = s.packetsSent as number;
    if (s.type === 'media-source' && s.kind === 'audio') totalAudioEnergy = s.totalAudioEnergy as number;
  });
  const sender = pc.getSenders().find((x: { track: { kind: string } | null }) => x.track?.kind === 'audio');
  const sdp: string = pc.remoteDescription?.sdp ?? '';
  return { packetsSent, totalAudioEnergy, trackEnabled: sender?.track?.enabled, telephoneEvent: /a=rtpmap:\d+ telephone-event\//.test(sdp) };
}

describe("the softphone page's in-call controls, on a call the API places To=client:alice", () => {
  let h: ApiHarness;
  let media: MediaSet;
  let node: SignalingNode;
  let cp: ControlPlane;
  let web: ServerType;
  let browser: Browser;
  let base: string;
  let token: string;
  let logEnd: () => void;
  const hits: { path: string; params: Record<string, string> }[] = [];
  const pageErrors: string[] = [];

  beforeAll(async () => {
    h = await startApiHarness(PREFIX, { secrets: SecretBox.fromText(secretsText) });
    const wav = toneWav(440, 20);
    const app = new Hono();
    app.get('/tone.wav', (c) => c.body(new Uint8Array(wav), 200, { 'Content-Type': 'audio/wav' }));
    const xml = (body: string) => new Response(`<Response>${body}</Response>`, { headers: { 'Content-Type': 'text/xml' } });
    app.post('/:path', async (c) => {
      const params: Record<string, string> = {};
      for (const [k, v] of Object.entries(await c.req.parseBody())) params[k] = String(v);
      hits.push({ path: c.req.param('path'), params });
      if (c.req.param('path') === 'voice') return xml(`<Gather numDigits="3" action="/gathered" timeout="20"><Play>${base}/tone.wav</Play></Gather><Say>Nothing heard.</Say>`);
      // After the digits: the call stays up (mute is checked here) until the page hangs up.
      return xml('<Pause length="60"/>');
    });
    web = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 });
    await new Promise((r) => web.once('listening', r));
    base = `http://127.0.0.1:${(web.address() as AddressInfo).port}`;

    const k = await h.req('POST', `/2010-04-01/Accounts/${h.account.sid}/Keys.json`, { form: { FriendlyName: 'softphone' } });
    expect(k.status).toBe(201);
    const t = new AccessToken(h.account.sid, k.body.sid, k.body.secret, { identity: 'alice', ttl: 600 });
    t.addGrant(new AccessToken.VoiceGrant({ incomingAllow: true }));
    token = t.toJwt();

    const logDir = mkdtempSync(join(tmpdir(), 'softphone-incall-'));
    const clientDir = join(logDir, 'client');
    await buildSoftphone(clientDir);
    const config = testRegionConfig({ keyPrefix: PREFIX, nodeId: 'si-sig-1', sip: SIG, mediaNodes: MEDIA, routes: [] }, logDir);
    media = await startMediaSet(MEDIA, logDir, `${SIG.address}:${config.media.dtmfEventPort}`);
    const { log, end } = fileLogger(logDir);
    logEnd = end;
    node = await startSignalingNode({ ...config, secretsKey: secretsText }, log);
    cp = await startControlPlane(parseConfig({ region: 'us-east', redis: { url: TEST_REDIS_URL, keyPrefix: PREFIX }, controlPlane: { address: CP_ADDRESS } }), { operatorPassword: 'softphone-incall-op', port: 0, clientDir }, silentLogger);
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await cp?.close();
    await node?.close();
    await media?.close();
    await new Promise((r) => web?.close(r));
    await h?.close();
    logEnd?.();
  });

  const text = (page: Page, id: string): Promise<string> => page.locator(`#${id}`).innerText();
  const waitText = async (page: Page, id: string, re: RegExp, timeoutMs = 10_000): Promise<string> => {
    await page.locator(`#${id}`).filter({ hasText: re }).waitFor({ timeout: timeoutMs });
    return text(page, id);
  };
  /** The level meter's value (dBFS) sampled every 50 ms for `ms`. */
  const levels = (page: Page, ms: number): Promise<number[]> =>
    page.evaluate(async (forMs) => {
      const out: number[] = [];
      const until = performance.now() + forMs;
      while (performance.now() < until) {
        // eslint-disable-next-line @typescript-eslint/no-explicit-any
        out.push((globalThis as any).document.getElementById('level').value as number);
        await new Promise((r) => setTimeout(r, 50));
      }
      return out;
    }, ms);

  it('rings, answers, meters the tone, sends 1 2 3 to Gather, mutes and unmutes, and hangs up', async () => {
    const page = await browser.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') pageErrors.push(`console: ${m.text()}`);
    });
    await page.addInitScript(recordPeerConnections);
    try {
      await page.goto(`${cp.url}/client/`);
      await page.fill('#token', token);
      expect(await text(page, 'token-info')).toMatch(/^client:alice of AC[0-9a-f]{32}, expires in (9|10) min; may not call out, takes incoming calls$/);
      await page.fill('#signaling-url', WS_URL);
      await page.click('#register');
      await waitText(page, 'registration-state', /^registered$/);

      // (1) Ringing, then Answer.
      const created = await h.req('POST', `/2010-04-01/Accounts/${h.account.sid}/Calls.json`, { form: { To: 'client:alice', From: '+15550083', Url: `${base}/voice` } });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      const sid = created.body.sid as string;
      await waitText(page, 'call-state', /^incoming$/, 15_000);
      expect(await text(page, 'call-detail')).toMatch(/^incoming call from /);
      expect(await page.isDisabled('#answer')).toBe(false);
      expect(await page.isDisabled('#hangup')).toBe(true);
      expect(await page.isDisabled('#keypad button >> nth=0')).toBe(true);
      expect(await text(page, 'level-text')).toBe('-100 dBFS');
      await page.click('#answer');
      await waitText(page, 'call-state', /^connected$/, 10_000);
      expect(await page.isDisabled('#answer')).toBe(true);
      expect(await page.isDisabled('#mute')).toBe(false);
      expect(await page.isDisabled('#keypad button >> nth=0')).toBe(false);

      // (2) The level meter follows the tone (12000/32768 peak sine: about -11 dBFS RMS).
      const tone = await levels(page, 2500);
      const loud = tone.filter((v) => v > -40).length;
      console.log(`softphone level meter while the tone plays: max ${Math.max(...tone).toFixed(1)} dBFS, ${loud}/${tone.length} samples above -40 dBFS; shown "${await text(page, 'level-text')}"`);
      expect(Math.max(...tone)).toBeGreaterThan(-30);
      expect(loud).toBeGreaterThan(10);
      const o = await page.evaluate(outbound);
      expect(o.telephoneEvent, 'telephone-event offered to the browser').toBe(true);

      // (3) Keypad 1 2 3 → Gather's action.
      for (const key of ['1', '2', '3']) await page.click(`#keypad button[aria-label="DTMF ${key}"]`);
      await waitUntil(() => hits.some((x) => x.path === 'gathered'), 10_000, 'the Gather action requested');
      const gathered = hits.find((x) => x.path === 'gathered')!;
      console.log(`softphone keypad → Gather action: Digits=${gathered.params.Digits}`);
      expect(gathered.params).toMatchObject({ CallSid: sid, Digits: '123' });

      // (4) Mute: the microphone track is disabled and sends silence; Unmute: sound again.
      const sample = async (ms: number) => {
        const a = await page.evaluate(outbound);
        await page.waitForTimeout(ms);
        const b = await page.evaluate(outbound);
        return { packets: b.packetsSent - a.packetsSent, energy: b.totalAudioEnergy - a.totalAudioEnergy, trackEnabled: b.trackEnabled };
      };
      const before = await sample(1500);
      await page.click('#mute');
      expect(await page.getAttribute('#mute', 'aria-pressed')).toBe('true');
      expect(await text(page, 'mute')).toBe('Unmute');
      await page.waitForTimeout(300);
      const muted = await sample(1500);
      await page.click('#mute');
      expect(await page.getAttribute('#mute', 'aria-pressed')).toBe('false');
      await page.waitForTimeout(300);
      const unmuted = await sample(1500);
      console.log(`softphone outbound audio over 1.5 s: before mute ${JSON.stringify(before)}; muted ${JSON.stringify(muted)}; unmuted ${JSON.stringify(unmuted)}`);
      expect(before.trackEnabled).toBe(true);
      expect(before.packets).toBeGreaterThan(40);
      expect(muted.trackEnabled).toBe(false);
      // Chromium keeps sending packets for a disabled track, carrying silence: the microphone's energy stops growing.
      expect(muted.energy).toBeLessThan(before.energy / 100);
      expect(unmuted.trackEnabled).toBe(true);
      expect(unmuted.packets).toBeGreaterThan(40);
      expect(unmuted.energy).toBeGreaterThan(before.energy / 10);

      // (5) Hang up: the page shows the end, the platform's record is completed.
      await page.click('#hangup');
      await waitText(page, 'call-state', /^ended$/, 5000);
      expect(await text(page, 'call-detail')).toMatch(/^call ended/);
      expect(await page.isDisabled('#hangup')).toBe(true);
      expect(await text(page, 'level-text')).toBe('-100 dBFS');
      expect(await text(page, 'registration-state')).toBe('registered');
      let status = '';
      await waitUntil(
        async () => {
          const r = await h.req('GET', `/2010-04-01/Accounts/${h.account.sid}/Calls/${sid}.json`);
          status = String(r.body.status);
          return status === 'completed';
        },
        10_000,
        'call record completed',
      ).catch((e: Error) => {
        throw new Error(`${e.message} (last status: ${status})`);
      });
      await page.click('#unregister');
      await waitText(page, 'registration-state', /^unregistered$/);
    } finally {
      await page.close();
    }
  }, 90_000);

  it('ran without page errors', () => {
    expect(pageErrors).toEqual([]);
  });
});
