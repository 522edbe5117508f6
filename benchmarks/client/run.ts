/**
 * Browser clients (issue 13): INVITE → first received audio, and what
 * concurrent WebRTC calls cost one media node, against plain RTP relaying in
 * the same run. See benchmarks/README.md § client.
 *
 * One in-process region (the B2BUA integration harness: signaling node,
 * one rtpengine, Redis), Debian's Chromium with JsSIP pages
 * (test/support/jssip-page.ts), a SIPp UAS echoing RTP behind the route
 * +1555. Run it in a network namespace of its own (fixed loopback addresses
 * 127.0.91.0/24 and Redis on 127.0.0.1:6391):
 *
 *   ip netns exec NS npx tsx benchmarks/client/run.ts [--quick]
 *
 * Writes benchmarks/results/client[-quick]-<time>.{json,md}, a new pair per run.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import type { Page } from 'playwright-core';
import { createTenantApp } from '../../control-plane/api/app.js';
import { RedisCallControl } from '../../control-plane/api/call-control.js';
import { startHttpServer } from '../../control-plane/api/server.js';
import { bootstrapAccount } from '../../control-plane/store/accounts.js';
import { ensureRedis } from '../../infra/redis.js';
import { launchChromium } from '../../test/support/chromium.js';
import { tableAuthenticator } from '../../test/support/client-authenticator.js';
import { callInPage, jssipBundle, registerInPage, servePhonePage, toneWav } from '../../test/support/jssip-page.js';
import { runSipp, startSipp } from '../../test/support/sipp.js';
import { TEST_REDIS_URL } from '../../test/integration/global-setup.js';
import { startTestRegion } from '../../test/integration/signaling/b2bua/harness.js';
import { readCpuSeconds } from '../lib/proc-cpu.js';
import { round } from '../lib/stats.js';
import { cpuPerCallSecond, lossFraction, maxPassing, ratio, summarize } from './stats.js';
import { resultStamp } from '../lib/result-stamp.js';

const quick = process.argv.includes('--quick');
const FIRST_AUDIO_CALLS = quick ? 8 : 30;
const LADDER = quick ? [5, 10] : [5, 10, 20];
const WINDOW_S = 4;
const SETTLE_MS = 2000;
const LOSS_LIMIT = 0.01;

const SIG = { address: '127.0.91.1', port: 5060 };
const MEDIA = { id: 'bench-client-media', address: '127.0.91.11', ngPort: 2223, rtpPortMin: 40000, rtpPortMax: 44999 };
const CARRIER = { address: '127.0.91.2', port: 5070, mediaPort: 28000 };
const ECHO = { address: '127.0.91.3', port: 5090, mediaPort: 27000 };
const WS_PORT = 5066;
const PREFIX = `bench-client-${process.pid}:`;

// ---- in-page functions (serialized by page.evaluate: self-contained) ----

/** Call `target`; ms from the INVITE leaving (JsSIP 'sending') to confirmed and to the first received RTP packet (getStats polled every 10 ms). */
async function firstAudioInPage(a: { target: string }): Promise<{ confirmedMs: number; firstAudioMs: number }> {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const phone = (globalThis as any).phone;
  let sentAt = 0;
  let confirmedAt = 0;
  const session = phone.ua.call(a.target, { mediaConstraints: { audio: true, video: false }, pcConfig: { iceServers: [] }, eventHandlers: { sending: () => (sentAt = performance.now()) } });
  phone.session = session;
  session.on('confirmed', () => (confirmedAt = performance.now()));
  const failed = new Promise<never>((_, reject) => session.on('failed', (e: { cause: string }) => reject(new Error(`call failed: ${e.cause}`))));
  const first = (async () => {
    const deadline = performance.now() + 10_000;
    while (performance.now() < deadline) {
      const pc = session.connection;
      if (pc !== undefined && pc !== null) {
        let got = 0;
        (await pc.getStats()).forEach((s: { type: string; kind?: string; packetsReceived?: number }) => {
          if (s.type === 'inbound-rtp' && s.kind === 'audio') got = s.packetsReceived ?? 0;
        });
        if (got > 0) return performance.now();
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error('no audio within 10 s');
  })();
  const at = await Promise.race([first, failed]);
  session.terminate();
  await new Promise((r) => setTimeout(r, 100));
  return { confirmedMs: confirmedAt - sentAt, firstAudioMs: at - sentAt };
}

async function statsInPage(): Promise<{ received: number; lost: number; sent: number; codec: string | undefined }> {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const pc = (globalThis as any).phone.session.connection;
  const r = { received: 0, lost: 0, sent: 0, codec: undefined as string | undefined };
  let codecId: string | undefined;
  const stats: Map<string, Record<string, unknown>> = await pc.getStats();
  stats.forEach((s) => {
    if (s.type === 'inbound-rtp' && s.kind === 'audio') {
      r.received = s.packetsReceived as number;
      r.lost = (s.packetsLost as number) ?? 0;
      codecId = s.codecId as string;
    }
    if (s.type === 'outbound-rtp' && s.kind === 'audio') r.sent = s.packetsSent as number;
  });
  if (codecId !== undefined) r.codec = (stats.get(codecId) as { mimeType?: string } | undefined)?.mimeType;
  return r;
}

function hangUpCallInPage(): void {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const s = (globalThis as any).phone.session;
  if (s !== undefined && !s.isEnded()) s.terminate();
}

// ---- the run ----

interface Step {
  mode: 'plain' | 'webrtc-pcmu' | 'webrtc-opus';
  k: number;
  callsUp: number;
  cpuS: number;
  cpuPerCallSecondMs: number | undefined;
  cpuPerCallPct: number | undefined;
  loss: number | undefined;
  codecs: string[];
  pass: boolean;
  note?: string;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const runDir = mkdtempSync(join(tmpdir(), 'bench-client-'));
const redis = await ensureRedis({ url: TEST_REDIS_URL, runDir, appendOnly: false });
const tokens: Parameters<typeof tableAuthenticator>[0] = {};
const region = await startTestRegion({
  keyPrefix: PREFIX,
  nodeId: 'bench-client-sig',
  sip: SIG,
  mediaNodes: [MEDIA],
  routes: [{ prefix: '+1555', destination: `sip:${ECHO.address}:${ECHO.port}` }],
  maxCalls: 1000,
  clientAuthenticator: tableAuthenticator(tokens),
});
const rtpenginePid = region.rtpengines.get(MEDIA.id)!.pid;
const rd = region.node.redis;
const account = await bootstrapAccount(rd, PREFIX, { friendlyName: 'bench', homeRegion: 'us-east' });
const api = await startHttpServer(createTenantApp({ redis: rd, keyPrefix: PREFIX, defaultRegion: 'us-east', regions: ['us-east'], callControl: new RedisCallControl(rd, PREFIX) }), { hostname: '127.0.0.1', port: 0 });
const docs = new Map<string, string>();
const app = new Hono();
servePhonePage(app, await jssipBundle());
const wav = toneWav(440, 20);
app.get('/tone.wav', (c) => c.body(new Uint8Array(wav), 200, { 'Content-Type': 'audio/wav' }));
app.post('*', (c) => c.body(docs.get(new URL(c.req.url).pathname) ?? '<Response><Hangup/></Response>', 200, { 'Content-Type': 'text/xml' }));
const web = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 });
await new Promise((r) => web.once('listening', r));
const base = `http://127.0.0.1:${(web.address() as AddressInfo).port}`;

async function post(path: string, form: Record<string, string>): Promise<Record<string, unknown>> {
  const res = await fetch(`${api.url}/2010-04-01/Accounts/${account.sid}${path}`, {
    method: 'POST',
    headers: { Authorization: `Basic ${Buffer.from(`${account.sid}:${account.authToken}`).toString('base64')}`, 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form).toString(),
    signal: AbortSignal.timeout(5000),
  });
  const body = (await res.json()) as Record<string, unknown>;
  if (res.status !== 201) throw new Error(`POST ${path}: ${res.status} ${JSON.stringify(body)}`);
  return body;
}
async function application(path: string, doc: string): Promise<string> {
  docs.set(path, doc);
  return (await post('/Applications.json', { FriendlyName: path, VoiceUrl: `${base}${path}` })).sid as string;
}

const toneApp = await application('/tone', `<Response><Play>${base}/tone.wav</Play></Response>`);
const echoApp = await application('/dial-echo', '<Response><Dial timeout="10"><Number>+15559100001</Number></Dial></Response>');
await post('/IncomingPhoneNumbers.json', { PhoneNumber: '+15559100002', VoiceApplicationSid: echoApp });
const echo = await startSipp({ scenario: 'uas-echo.xml', localAddress: ECHO.address, localPort: ECHO.port, mediaPort: ECHO.mediaPort, rtpEcho: true, timeoutMs: 30 * 60_000 });
await echo.ready;
const browser = await launchChromium();
const target = `sip:+15559100001@${SIG.address}`;

async function phonePage(identity: string, applicationSid: string): Promise<Page> {
  const token = `tok-${identity}`;
  tokens[token] = { accountSid: account.sid, identity, outgoing: { applicationSid, params: {} } };
  const page = await browser.newPage();
  // tsx (esbuild keepNames) wraps named functions in __name(); page.evaluate ships them without it.
  await page.addInitScript('globalThis.__name = (f) => f');
  await page.goto(`${base}/phone.html`);
  await page.evaluate(registerInPage, { wsUrl: `ws://${SIG.address}:${WS_PORT}/?access_token=${token}`, sipUri: `sip:${identity}@${SIG.address}`, answer: false });
  return page;
}

const steps: Step[] = [];
let firstAudio: ReturnType<typeof summarize> | undefined;
let confirmed: ReturnType<typeof summarize> | undefined;
try {
  // (1) INVITE → first received audio, sequential calls to <Play>.
  const p0 = await phonePage('first', toneApp);
  const fa: number[] = [];
  const cf: number[] = [];
  for (let i = 0; i < FIRST_AUDIO_CALLS; i++) {
    const r = await p0.evaluate(firstAudioInPage, { target });
    fa.push(r.firstAudioMs);
    cf.push(r.confirmedMs);
    await sleep(150);
  }
  await p0.close();
  firstAudio = summarize(fa);
  confirmed = summarize(cf);
  console.log('INVITE → first audio (ms):', JSON.stringify(firstAudio), 'INVITE → confirmed:', JSON.stringify(confirmed));

  // (2) K concurrent calls through the echo: plain SIPp RTP, WebRTC PCMU, WebRTC Opus-only (transcoded).
  const pages: Page[] = [];
  for (let i = 0; i < LADDER[LADDER.length - 1]!; i++) pages.push(await phonePage(`load${i}`, echoApp));
  for (const k of LADDER) {
    // Plain: SIPp carrier → number → <Dial><Number> → SIPp echo; uac-basic plays 7 s of PCMA.
    {
      const sipp = runSipp({ scenario: 'uac-basic.xml', target: `${SIG.address}:${SIG.port}`, localAddress: CARRIER.address, localPort: CARRIER.port, mediaPort: CARRIER.mediaPort, service: '+15559100002', calls: k, rate: k, limit: k, timeoutMs: 40_000 });
      await sleep(SETTLE_MS);
      const c0 = readCpuSeconds(rtpenginePid)!;
      await sleep(WINDOW_S * 1000);
      const cpuS = readCpuSeconds(rtpenginePid)! - c0;
      const res = await sipp;
      const per = cpuPerCallSecond(cpuS, k, WINDOW_S);
      steps.push({ mode: 'plain', k, callsUp: res.successfulCalls, cpuS: round(cpuS, 2)!, cpuPerCallSecondMs: round(per === undefined ? undefined : per * 1000, 3), cpuPerCallPct: round(per === undefined ? undefined : per * 100, 3), loss: undefined, codecs: ['PCMA'], pass: res.failedCalls === 0 && res.successfulCalls === k, ...(res.failedCalls > 0 ? { note: res.errorsTail.replace(/\s+/g, ' ').slice(0, 200) } : {}) });
      console.log(JSON.stringify(steps[steps.length - 1]));
    }
    for (const mode of ['webrtc-pcmu', 'webrtc-opus'] as const) {
      const use = pages.slice(0, k);
      // Staggered by 100 ms: Chromium refuses some of 20 simultaneous getUserMedia calls ("User Denied Media Access").
      const placed = await Promise.allSettled(use.map(async (p, i) => {
        await sleep(i * 100);
        return p.evaluate(callInPage, { target, opusOnly: mode === 'webrtc-opus' });
      }));
      const up = use.filter((_, i) => placed[i]!.status === 'fulfilled');
      await sleep(SETTLE_MS);
      const s0 = await Promise.all(up.map((p) => p.evaluate(statsInPage)));
      const c0 = readCpuSeconds(rtpenginePid)!;
      await sleep(WINDOW_S * 1000);
      const cpuS = readCpuSeconds(rtpenginePid)! - c0;
      const s1 = await Promise.all(up.map((p) => p.evaluate(statsInPage)));
      await Promise.all(up.map((p) => p.evaluate(hangUpCallInPage)));
      let rec = 0;
      let lost = 0;
      s1.forEach((s, i) => {
        rec += s.received - s0[i]!.received;
        lost += s.lost - s0[i]!.lost;
      });
      // Expected 50 packets/s per call: a call receiving less than that lost what did not arrive, even if not reported as lost.
      const shortfall = Math.max(0, up.length * WINDOW_S * 50 - rec);
      const loss = lossFraction(rec, Math.max(lost, shortfall));
      // Per call actually up: rtpengine carried only those.
      const per = cpuPerCallSecond(cpuS, up.length, WINDOW_S);
      const failed = placed.filter((p) => p.status === 'rejected').map((p) => String((p as PromiseRejectedResult).reason).split('\n')[0]!.slice(0, 120));
      steps.push({ mode, k, callsUp: up.length, cpuS: round(cpuS, 2)!, cpuPerCallSecondMs: round(per === undefined ? undefined : per * 1000, 3), cpuPerCallPct: round(per === undefined ? undefined : per * 100, 3), loss: round(loss, 4), codecs: [...new Set(s1.map((s) => s.codec ?? '?'))], pass: up.length === k && loss <= LOSS_LIMIT, ...(failed.length > 0 ? { note: failed[0] } : {}) });
      console.log(JSON.stringify(steps[steps.length - 1]));
      await sleep(1000);
    }
  }
} finally {
  await browser.close();
  await echo.stop(500);
  await api.close();
  await region.close();
  await new Promise((r) => web.close(r));
  await redis?.stop(3000);
}

// ---- report ----
const byMode = (m: Step['mode']): Step[] => steps.filter((s) => s.mode === m);
const comparison = LADDER.map((k) => {
  const plain = steps.find((s) => s.mode === 'plain' && s.k === k)?.cpuPerCallSecondMs;
  const pcmu = steps.find((s) => s.mode === 'webrtc-pcmu' && s.k === k)?.cpuPerCallSecondMs;
  const opus = steps.find((s) => s.mode === 'webrtc-opus' && s.k === k)?.cpuPerCallSecondMs;
  return { k, plainMs: plain, pcmuMs: pcmu, opusMs: opus, pcmuOverPlain: ratio(pcmu, plain), opusOverPlain: ratio(opus, plain), opusOverPcmu: ratio(opus, pcmu) };
});
const maxK = { plain: maxPassing(byMode('plain')), 'webrtc-pcmu': maxPassing(byMode('webrtc-pcmu')), 'webrtc-opus': maxPassing(byMode('webrtc-opus')) };
const result = { at: new Date().toISOString(), quick, cores: (await import('node:os')).cpus().length, loadavg: (await import('node:os')).loadavg().map((v) => round(v, 2)), windowSeconds: WINDOW_S, firstAudio, confirmed, steps, comparison, maxK, ladder: LADDER };
const md = [
  `# client benchmark${quick ? ' (quick)' : ''} — ${result.at}`,
  '',
  `${result.cores} cores, load average ${result.loadavg.join(' ')}; CPU = rtpengine utime+stime over a ${WINDOW_S} s window with every call up.`,
  '',
  `INVITE → first received audio (JsSIP 'sending' → getStats packetsReceived > 0), ${firstAudio?.n ?? 0} sequential calls to \`<Play>\`: p50 ${firstAudio?.p50} ms, p95 ${firstAudio?.p95} ms, max ${firstAudio?.max} ms (INVITE → confirmed p50 ${confirmed?.p50} ms, p95 ${confirmed?.p95} ms).`,
  '',
  '| mode | K | calls up | rtpengine CPU s | CPU ms per call-second | % of a core per call | loss | codec | pass |',
  '|---|---|---|---|---|---|---|---|---|',
  ...steps.map((s) => `| ${s.mode} | ${s.k} | ${s.callsUp} | ${s.cpuS} | ${s.cpuPerCallSecondMs ?? '–'} | ${s.cpuPerCallPct ?? '–'} | ${s.loss === undefined ? '–' : `${round(s.loss * 100, 2)} %`} | ${s.codecs.join(',')} | ${s.pass ? 'yes' : `no${s.note !== undefined ? ` (${s.note.replace(/\|/g, '/')})` : ''}`} |`),
  '',
  '| K | plain ms/call-s | WebRTC PCMU | WebRTC Opus (transcoded) | PCMU ÷ plain | Opus ÷ plain | Opus ÷ PCMU |',
  '|---|---|---|---|---|---|---|',
  ...comparison.map((c) => `| ${c.k} | ${c.plainMs ?? '–'} | ${c.pcmuMs ?? '–'} | ${c.opusMs ?? '–'} | ${c.pcmuOverPlain ?? '–'} | ${c.opusOverPlain ?? '–'} | ${c.opusOverPcmu ?? '–'} |`),
  '',
  `Max K without loss > 1 % (ladder ${LADDER.join(', ')}): plain ${maxK.plain ?? 'none'}, WebRTC PCMU ${maxK['webrtc-pcmu'] ?? 'none'}, WebRTC Opus ${maxK['webrtc-opus'] ?? 'none'}${LADDER.length > 0 ? ' (a value equal to the top of the ladder means the ladder ended first)' : ''}.`,
  '',
].join('\n');
console.log(md);
const outDir = join(import.meta.dirname, '../results');
mkdirSync(outDir, { recursive: true });
const stamp = resultStamp(result.at);
const name = `client${quick ? '-quick' : ''}-${stamp}`;
writeFileSync(join(outDir, `${name}.json`), JSON.stringify(result, null, 2));
writeFileSync(join(outDir, `${name}.md`), md);
console.log(`wrote benchmarks/results/${name}.{json,md}`);
process.exit(0);
