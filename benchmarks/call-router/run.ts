/**
 * Call-router benchmark (issue 5): time from the caller's 200 OK to the
 * first RTP packet of a `Say` and of a `Play`, cold and warm media cache,
 * p50/p99, sequentially and with calls at once; and the fetch time of the
 * instruction documents. Baselines in the same run: ng `play media` → first
 * RTP on a bare rtpengine call, and a plain fetch() of a document.
 *
 *   npx tsx benchmarks/call-router/run.ts [--quick] [--calls 50] [--rounds 5]
 *       [--concurrency 10] [--listen-ms 60] [--keep]
 *
 * Results: benchmarks/results/call-router.{json,md} and call-router-*.svg
 * (call-router-quick.* with --quick). Logs under benchmarks/results/tmp/,
 * removed after a clean run unless --keep.
 *
 * Addresses (127.0.23.0/24 only): signaling node 127.0.23.1:5060 (UDP; DTMF
 * listener 127.0.23.1:5998), caller SIP 127.0.23.2:5070, caller RTP
 * 127.0.23.3, app server 127.0.23.4 (ephemeral port), rtpengines
 * 127.0.23.11 and .12 (ng 2223, RTP 56000–56999 and 57000–57999); Redis
 * 127.0.0.1:6407 (reused when running, else started and stopped here).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { bootstrapAccount } from '../../control-plane/store/accounts.js';
import { newSid } from '../../control-plane/store/ids.js';
import { NumberStore } from '../../regions/store/numbers.js';
import { parseConfig } from '../../infra/config.js';
import { ensureRedis } from '../../infra/redis.js';
import { synthesizeSpeech } from '../../media/cache/transcode.js';
import { NgClient } from '../../media/ng/client.js';
import { apiDate } from '../../regions/store/schema.js';
import { ChildGroup, type BenchChild } from '../lib/children.js';
import { startBenchRtpengine } from '../lib/rtpengine.js';
import { renderBarChart } from '../media-routing/svg.js';
import { ROUTER_CASES, sayText, startAppServer, type AppServer, type RouterCase } from './app-server.js';
import { fetchOnce, playOnce } from './baselines.js';
import type { FetchSpan, NgSpan, ProbeSpan, SpawnSpan } from './node-probe.js';
import { dist, renderMarkdown, summarize, type BaselineResult, type CallRouterReport, type FetchBaselineResult, type Mode, type RouterCaseResult } from './report.js';
import { BenchUac, type CallTiming } from './uac.js';
import { resultStamp } from '../lib/result-stamp.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const RESULTS = join(ROOT, 'benchmarks', 'results');
const HOSTS = { sig: '127.0.23.1', caller: '127.0.23.2', rtp: '127.0.23.3', app: '127.0.23.4' };
const SIG_PORT = 5060;
const CALLER_PORT = 5070;
const REDIS_URL = 'redis://127.0.0.1:6407';
const MEDIA = [
  { id: 'cr-bench-media-1', address: '127.0.23.11', ngPort: 2223, rtpPortMin: 56000, rtpPortMax: 56999 },
  { id: 'cr-bench-media-2', address: '127.0.23.12', ngPort: 2223, rtpPortMin: 57000, rtpPortMax: 57999 },
];
const NUMBERS: Record<RouterCase, string> = { 'say-warm': '+17770100001', 'say-cold': '+17770100002', 'play-warm': '+17770100003', 'play-cold': '+17770100004' };
const WAV_SECONDS = 2;
const CALL_TIMEOUT_MS = 10_000;

const log = (s: string): void => console.log(s);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const msBetween = (a: bigint | string | undefined, b: bigint | string | undefined): number | undefined =>
  a === undefined || b === undefined || a === '' || b === '' ? undefined : Number(BigInt(b) - BigInt(a)) / 1e6;
const defined = (xs: (number | undefined)[]): number[] => xs.filter((v): v is number => v !== undefined && Number.isFinite(v));

interface Cli {
  quick: boolean;
  keep: boolean;
  calls: number;
  rounds: number;
  concurrency: number;
  listenMs: number;
}

function cli(): Cli {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      calls: { type: 'string' },
      rounds: { type: 'string' },
      concurrency: { type: 'string', default: '10' },
      'listen-ms': { type: 'string', default: '60' },
    },
  });
  const int = (v: string | undefined, d: number, name: string, min: number, max: number): number => {
    const n = v === undefined ? d : Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name}: an integer ${min}..${max}`);
    return n;
  };
  const quick = values.quick;
  const rounds = int(values.rounds, quick ? 1 : 5, 'rounds', 1, 50);
  const calls = int(values.calls, quick ? 10 : 50, 'calls', 1, 1000);
  if (calls % rounds !== 0) throw new Error('--calls must be a multiple of --rounds');
  // Each call holds 4 RTP ports on one rtpengine (1000 each); 100 at once is far below.
  return { quick, keep: values.keep, calls, rounds, concurrency: int(values.concurrency, 10, 'concurrency', 1, 100), listenMs: int(values['listen-ms'], 60, 'listen-ms', 0, 5000) };
}

/** Run `count` tasks, at most `width` at once. */
async function pool<T>(count: number, width: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array<T>(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, count) }, async () => {
      for (;;) {
        const i = next++;
        if (i >= count) return;
        out[i] = await task(i);
      }
    }),
  );
  return out;
}

async function waitUntil(cond: () => boolean, timeoutMs: number, pollMs = 50): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (cond()) return true;
    await sleep(pollMs);
  }
  return cond();
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** A call as measured, with the case and mode it ran in. */
interface MeasuredCall extends CallTiming {
  case: RouterCase;
  mode: Mode;
  n: number;
}

interface Phase {
  case: RouterCase;
  mode: Mode;
  fromNs: bigint;
  toNs: bigint;
}

async function main(): Promise<void> {
  const o = cli();
  const startedAt = Date.now();
  const budgetMs = 8 * 60_000;
  mkdirSync(join(RESULTS, 'tmp'), { recursive: true });
  const work = mkdtempSync(join(RESULTS, 'tmp', 'call-router-'));
  const group = new ChildGroup();
  const onSignal = (): void => {
    group.killAllNow();
    process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', () => group.killAllNow());
  const loadAtStart = loadavg()[0] ?? 0;
  const prefix = `bench-cr-${Date.now().toString(36)}:`;
  const probeFile = join(work, 'probe.jsonl');

  let redisProc: Awaited<ReturnType<typeof ensureRedis>> = null;
  let redis: Redis | undefined;
  let app: AppServer | undefined;
  let uac: BenchUac | undefined;
  let node: BenchChild | undefined;
  const ngs: NgClient[] = [];
  let ok = false;
  const calls: MeasuredCall[] = [];
  const phases: Phase[] = [];
  const plays: { mode: Mode; ms: number | undefined; error: string | undefined }[] = [];
  const fetches: { mode: Mode; ms: number | undefined }[] = [];
  let transcoder = 'sox';
  try {
    log(`call-router: ${o.calls} calls per case and mode in ${o.rounds} round(s), concurrency ${o.concurrency}; work dir ${work}`);
    redisProc = await ensureRedis({ url: REDIS_URL, runDir: work, appendOnly: false });
    if (redisProc !== null) group.adopt('redis', redisProc);
    redis = new Redis(REDIS_URL, { commandTimeout: 2000, maxRetriesPerRequest: 1 });

    for (const m of MEDIA) {
      const dir = join(work, m.id);
      mkdirSync(dir, { recursive: true });
      await startBenchRtpengine(group, { id: m.id, address: m.address, ngPort: m.ngPort, portMin: m.rtpPortMin, portMax: m.rtpPortMax, workDir: dir });
      ngs.push(new NgClient({ address: m.address, port: m.ngPort, timeoutMs: 3000 }));
    }

    // The Play source: a 16 kHz tone (not the telephony format, so it must be converted).
    const wavFile = join(work, 'tone.wav');
    execFileSync('sox', ['-n', '-r', '16000', '-c', '1', '-b', '16', wavFile, 'synth', String(WAV_SECONDS), 'sine', '440', 'vol', '0.3'], { timeout: 10_000 });
    // The play-media baseline plays what say-warm plays: the same sentence, made the way the cache makes it.
    mkdirSync(join(work, 'tmp'), { recursive: true });
    const baselineFile = join(work, 'baseline-say.wav');
    writeFileSync(baselineFile, await synthesizeSpeech(sayText('say-warm', 0), { voice: 'man', language: 'en-US', tmpDir: join(work, 'tmp'), timeoutMs: 10_000 }));
    transcoder = existsSync('/usr/bin/ffmpeg') ? 'ffmpeg' : 'sox';

    app = await startAppServer({ address: HOSTS.app, wav: readFileSync(wavFile) });
    const account = await bootstrapAccount(redis, prefix, { friendlyName: 'call-router bench', homeRegion: 'us-east' });
    const numbers = new NumberStore(redis, prefix);
    for (const c of ROUTER_CASES) {
      const at = apiDate();
      await numbers.create({
        sid: newSid('PN'),
        accountSid: account.sid,
        phoneNumber: NUMBERS[c],
        friendlyName: c,
        voiceUrl: `${app.url}/doc/${c}`,
        voiceMethod: 'POST',
        homeRegion: 'us-east',
        dateCreated: at,
        dateUpdated: at,
      }, Date.now());
    }

    const config = parseConfig({
      region: 'us-east',
      nodeId: 'cr-bench-sig-1',
      runDir: join(work, 'node'),
      sip: { address: HOSTS.sig, port: SIG_PORT, transports: ['UDP'] },
      redis: { url: REDIS_URL, keyPrefix: prefix },
      media: { nodes: MEDIA, healthIntervalMs: 250, ngTimeoutMs: 800 },
      routes: [],
      logLevel: 'warn',
    });
    mkdirSync(join(work, 'node'), { recursive: true });
    const configFile = join(work, 'signaling.json');
    writeFileSync(configFile, JSON.stringify(config));
    const nodeLog = join(work, 'signaling.log');
    node = group.spawn('signaling', process.execPath, [
      '--import', 'tsx',
      '--import', pathToFileURL(join(ROOT, 'benchmarks', 'call-router', 'node-probe.ts')).href,
      '--require', join(ROOT, 'benchmarks', 'call-router', 'worker-probe.cjs'),
      join(ROOT, 'infra', 'node-main.ts'), '--config', configFile,
    ], { cwd: ROOT, logFile: nodeLog, env: { ...process.env, CALL_ROUTER_PROBE_FILE: probeFile } });
    const started = node;
    if (!(await waitUntil(() => readText(nodeLog).includes('READY') || started.hasExited(), 30_000, 100)) || started.hasExited()) {
      throw new Error(`signaling node did not start: ${readText(nodeLog).slice(-2000)}`);
    }

    uac = await BenchUac.open({ sip: { address: HOSTS.caller, port: CALLER_PORT }, rtpAddress: HOSTS.rtp, target: { address: HOSTS.sig, port: SIG_PORT } });
    let callNo = 0;
    const place = async (c: RouterCase, mode: Mode): Promise<MeasuredCall> => {
      const n = ++callNo;
      const t = await uac!.call({ dialed: NUMBERS[c], from: `bench${n}`, timeoutMs: CALL_TIMEOUT_MS, listenMs: o.listenMs });
      return { ...t, case: c, mode, n };
    };

    // Warm-up (not counted): media health settles, caches fill for the warm cases, JIT and connections warm.
    let warmed = false;
    for (let attempt = 0; attempt < 20 && !warmed; attempt++) {
      const w = await place('say-warm', 'sequential');
      warmed = w.ok;
      if (!warmed) await sleep(500);
    }
    if (!warmed) throw new Error(`warm-up calls fail; node log: ${readText(nodeLog).slice(-2000)}`);
    for (const c of ROUTER_CASES) for (let i = 0; i < 2; i++) await place(c, 'sequential');
    for (let i = 0; i < 4; i++) await playOnce(ngs[i % ngs.length]!, { rtpAddress: HOSTS.rtp, file: baselineFile, timeoutMs: CALL_TIMEOUT_MS, listenMs: o.listenMs });
    for (let i = 0; i < 4; i++) await fetchOnce(`${app.url}/doc/say-warm`, `fetchwarm${i}`, 5000);
    await sleep(300);
    log('warm-up done');

    const perRound = o.calls / o.rounds;
    let playNo = 0;
    let fetchNo = 0;
    for (const mode of ['sequential', 'concurrent'] as const) {
      const width = mode === 'sequential' ? 1 : o.concurrency;
      for (let round = 0; round < o.rounds; round++) {
        if (Date.now() - startedAt > budgetMs) throw new Error('time budget exceeded');
        const b = await pool(perRound, width, () => playOnce(ngs[playNo++ % ngs.length]!, { rtpAddress: HOSTS.rtp, file: baselineFile, timeoutMs: CALL_TIMEOUT_MS, listenMs: o.listenMs }));
        for (const s of b) plays.push({ mode, ms: s.ms, error: s.error });
        await sleep(50);
        for (const c of ROUTER_CASES) {
          const fromNs = process.hrtime.bigint();
          const got = await pool(perRound, width, async () => {
            const r = await place(c, mode);
            // Let the call's teardown (BYE, ng delete, records) pass before the next one in sequence.
            if (width === 1) await sleep(30);
            return r;
          });
          phases.push({ case: c, mode, fromNs, toNs: process.hrtime.bigint() });
          calls.push(...got);
          await sleep(50);
        }
        const fs = await pool(perRound, width, () => fetchOnce(`${app!.url}/doc/say-warm`, `fetch${++fetchNo}`, 5000));
        for (const s of fs) fetches.push({ mode, ms: s.ms });
        const done = calls.filter((x) => x.mode === mode);
        log(`  ${mode} round ${round + 1}/${o.rounds}: ${done.filter((x) => x.ok).length}/${done.length} calls ok`);
      }
    }
    ok = true;
  } finally {
    await uac?.close();
    // SIGTERM: node-main closes the node and exits, and the probe writes its file on exit.
    await node?.stop(8000);
    await Promise.all(ngs.map((n) => n.close()));
    await app?.close();
    redis?.disconnect();
    await group.stopAll();
  }

  const spans = readText(probeFile)
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as ProbeSpan);
  if (spans.length === 0) throw new Error(`the node probe wrote nothing (${probeFile})`);
  const report = buildReport(o, calls, phases, plays, fetches, spans, app!, transcoder, loadAtStart);
  // A new set per run (plots included): the committed results are examples.
  const base = `${o.quick ? 'call-router-quick' : 'call-router'}-${resultStamp(new Date())}`;
  const svgs = writePlots(base, report);
  writeFileSync(join(RESULTS, `${base}.json`), JSON.stringify(report, null, 2) + '\n');
  writeFileSync(join(RESULTS, `${base}.md`), renderMarkdown(report, svgs));
  log(`wrote benchmarks/results/${base}.json, ${base}.md, ${svgs.join(', ')}`);
  for (const r of report.summary.rows) log(`  ${r.case.padEnd(10)} ${r.mode.padEnd(10)} 200 OK → first RTP p50 ${r.p50} ms (${r.ratioP50}× baseline), p99 ${r.p99} ms (${r.ratioP99}×)`);
  for (const c of report.checks.filter((x) => !x.ok)) log(`  CHECK FAILED: ${c.name}: expected ${c.expected}, seen ${c.seen}`);
  if (ok && !o.keep) rmSync(work, { recursive: true, force: true });
}

function buildReport(
  o: Cli,
  calls: MeasuredCall[],
  phases: Phase[],
  plays: { mode: Mode; ms: number | undefined; error: string | undefined }[],
  fetches: { mode: Mode; ms: number | undefined }[],
  spans: ProbeSpan[],
  app: AppServer,
  transcoder: string,
  loadAtStart: number,
): CallRouterReport {
  const fetchSpans = spans.filter((s): s is FetchSpan => s.kind === 'fetch');
  const spawnSpans = spans.filter((s): s is SpawnSpan => s.kind === 'spawn');
  const docByFrom = new Map(fetchSpans.filter((s) => s.url.includes('/doc/') && s.from !== undefined).map((s) => [s.from!, s]));
  const mediaSpans = fetchSpans.filter((s) => s.url.includes('/audio.wav'));
  // The first of each ng command per call (the verb's play media; a loop would send more).
  const ngFirst = new Map<string, NgSpan>();
  for (const s of spans) if (s.kind === 'ng' && !ngFirst.has(`${s.command}\0${s.callId}`)) ngFirst.set(`${s.command}\0${s.callId}`, s);
  const ng = (command: string, callId: string): NgSpan | undefined => ngFirst.get(`${command}\0${callId}`);
  const playByCall = { get: (callId: string): NgSpan | undefined => ng('play media', callId) };
  const inPhase = (ns: string, c: RouterCase, m: Mode): boolean => {
    const t = BigInt(ns);
    return phases.some((ph) => ph.case === c && ph.mode === m && t >= ph.fromNs && t <= ph.toNs);
  };
  const runMs = (s: SpawnSpan): number | undefined => msBetween(s.startNs, s.closeNs);
  const fetchMs = (s: FetchSpan): number | undefined => msBetween(s.startNs, s.endNs);

  const router: RouterCaseResult[] = [];
  const docFetchSamples: Record<Mode, number[]> = { sequential: [], concurrent: [] };
  for (const mode of ['sequential', 'concurrent'] as const) {
    for (const c of ROUTER_CASES) {
      const mine = calls.filter((x) => x.case === c && x.mode === mode);
      const good = mine.filter((x) => x.ok);
      const doc = (x: MeasuredCall): FetchSpan | undefined => docByFrom.get(x.from);
      const docMs = defined(good.map((x) => { const d = doc(x); return d === undefined ? undefined : fetchMs(d); }));
      docFetchSamples[mode].push(...docMs);
      const phaseSpawns = spawnSpans.filter((s) => inPhase(s.startNs, c, mode));
      let coldPath: RouterCaseResult['coldPath'];
      if (mode === 'sequential') {
        const per = good.map((x) => {
          const inWindow = (ns: string): boolean => BigInt(ns) >= x.okNs! && BigInt(ns) <= x.firstRtpNs!;
          const sum = (xs: (number | undefined)[]): number => defined(xs).reduce((a, b) => a + b, 0);
          const espeak = sum(spawnSpans.filter((s) => s.program === 'espeak-ng' && inWindow(s.startNs)).map(runMs));
          const sox = sum(spawnSpans.filter((s) => s.program === 'sox' && inWindow(s.startNs)).map(runMs));
          const media = sum(mediaSpans.filter((s) => inWindow(s.startNs)).map(fetchMs));
          const play = playByCall.get(x.callId);
          const toPlay = msBetween(x.okNs, play?.sentNs);
          const engine = msBetween(play?.sentNs, x.firstRtpNs);
          return { espeak, sox, media, other: toPlay === undefined ? undefined : toPlay - espeak - sox - media, engine };
        });
        coldPath = {
          espeakNg: dist(per.map((q) => q.espeak)),
          sox: dist(per.map((q) => q.sox)),
          mediaFetch: dist(per.map((q) => q.media)),
          routerOther: dist(defined(per.map((q) => q.other))),
          engine: dist(defined(per.map((q) => q.engine))),
        };
      }
      router.push({
        case: c,
        mode,
        calls: mine.length,
        failed: mine.length - good.length,
        errors: [...new Set(mine.filter((x) => !x.ok).map((x) => x.error ?? 'unknown'))].slice(0, 5),
        okToFirstRtp: dist(defined(good.map((x) => msBetween(x.okNs, x.firstRtpNs)))),
        inviteToOk: dist(defined(good.map((x) => msBetween(x.inviteNs, x.okNs)))),
        inviteToFetchStart: dist(defined(good.map((x) => { const d = doc(x); return d === undefined ? undefined : msBetween(x.inviteNs, d.startNs); }))),
        docFetch: dist(docMs),
        fetchEndToOk: dist(defined(good.map((x) => { const d = doc(x); return d?.endNs === undefined ? undefined : msBetween(d.endNs, x.okNs); }))),
        appHandling: dist(defined(good.map((x) => { const h = app.docs.get(x.from); return h === undefined ? undefined : msBetween(h.arrivedNs, h.respondedNs); }))),
        setup: {
          beforeOffer: dist(defined(good.map((x) => msBetween(x.inviteNs, ng('offer', x.callId)?.sentNs)))),
          offerAndAnswer: dist(defined(good.map((x) => msBetween(ng('offer', x.callId)?.sentNs, ng('answer', x.callId)?.replyNs)))),
          afterAnswer: dist(defined(good.map((x) => { const d = doc(x); return d === undefined ? undefined : msBetween(ng('answer', x.callId)?.replyNs, d.startNs); }))),
        },
        okToPlaySent: dist(defined(good.map((x) => msBetween(x.okNs, playByCall.get(x.callId)?.sentNs)))),
        playSentToFirstRtp: dist(defined(good.map((x) => msBetween(playByCall.get(x.callId)?.sentNs, x.firstRtpNs)))),
        spans: {
          espeakNg: dist(defined(phaseSpawns.filter((s) => s.program === 'espeak-ng').map(runMs))),
          sox: dist(defined(phaseSpawns.filter((s) => s.program === 'sox').map(runMs))),
          spawnBlock: dist(defined(phaseSpawns.map((s) => msBetween(s.startNs, s.spawnedNs)))),
          mediaFetch: dist(defined(mediaSpans.filter((s) => inPhase(s.startNs, c, mode)).map(fetchMs))),
        },
        coldPath,
      });
    }
  }
  const baseline: BaselineResult[] = (['sequential', 'concurrent'] as const).map((mode) => {
    const mine = plays.filter((p) => p.mode === mode);
    return { mode, calls: mine.length, failed: mine.filter((p) => p.ms === undefined).length, playToFirstRtp: dist(defined(mine.map((p) => p.ms))) };
  });
  const fetchBaseline: FetchBaselineResult[] = (['sequential', 'concurrent'] as const).map((mode) => {
    const mine = fetches.filter((p) => p.mode === mode);
    return { mode, requests: mine.length, failed: mine.filter((p) => p.ms === undefined).length, fetch: dist(defined(mine.map((p) => p.ms))) };
  });

  // Cold is cold, warm is warm: counted over the measured phases (warm-up excluded).
  const measured = (c: RouterCase): number => calls.filter((x) => x.case === c && x.ok).length;
  const spawnsIn = (program: string, c: RouterCase): number => spawnSpans.filter((s) => s.program === program && (inPhase(s.startNs, c, 'sequential') || inPhase(s.startNs, c, 'concurrent'))).length;
  const mediaIn = (c: RouterCase): number => mediaSpans.filter((s) => inPhase(s.startNs, c, 'sequential') || inPhase(s.startNs, c, 'concurrent')).length;
  const check = (name: string, expected: number, seen: number): CallRouterReport['checks'][number] => ({ name, expected: String(expected), seen, ok: seen === expected });
  const checks = [
    check('say-cold: espeak-ng runs = calls answered', measured('say-cold'), spawnsIn('espeak-ng', 'say-cold')),
    check('say-warm: espeak-ng runs', 0, spawnsIn('espeak-ng', 'say-warm')),
    check('play-cold: media fetches = calls answered', measured('play-cold'), mediaIn('play-cold')),
    check('play-cold: sox runs = calls answered', measured('play-cold'), spawnsIn('sox', 'play-cold')),
    check('play-warm: media fetches', 0, mediaIn('play-warm')),
    check('play-warm: sox runs', 0, spawnsIn('sox', 'play-warm')),
    check('app server: requests for the warm WAV (whole run, warm-up included)', 1, app.media.get('warm') ?? 0),
  ];
  // A cold call hung up before its first RTP would leave work behind that lands after it; answered calls are what counts.
  const notes: string[] = [
    'Concurrent mode: calls are placed by a pool of workers, each starting its next call when the last one ended; with 10 calls per case per round that is 10 at once.',
    'The first RTP packet is timed in the socket\'s message handler of the benchmark process; the node, rtpengines and espeak-ng/sox run in their own processes.',
    `Percentiles are nearest-rank: with ${o.calls} calls per case and mode, p99 is the slowest call or close to it.`,
  ];
  const sc = router.find((y) => y.case === 'say-cold' && y.mode === 'sequential');
  const pc = router.find((y) => y.case === 'play-cold' && y.mode === 'sequential');
  if (sc?.coldPath !== undefined && pc?.coldPath !== undefined) {
    notes.push(
      `Cold path, sequential p50: say-cold ${sc.okToFirstRtp.p50} ms of which espeak-ng ${sc.coldPath.espeakNg.p50} ms and sox ${sc.coldPath.sox.p50} ms (run one after the other); ` +
        `play-cold ${pc.okToFirstRtp.p50} ms of which sox ${pc.coldPath.sox.p50} ms and the media fetch ${pc.coldPath.mediaFetch.p50} ms. ` +
        `Each helper's spawn() blocked its starting thread p50 ${sc.spans.spawnBlock.p50} ms (libuv returns only once the child has exec'd); the media cache starts programs from a worker thread (media/cache/process.ts), so the node's event loop carries on meanwhile.`,
    );
  }
  const summary = summarize(router, baseline, fetchBaseline, docFetchSamples);
  return {
    benchmark: 'call-router',
    generatedAt: new Date().toISOString(),
    quick: o.quick,
    host: { cpus: cpus().length, node: process.version, loadavg1mAtStart: Number(loadAtStart.toFixed(2)), loadavg1mAtEnd: Number((loadavg()[0] ?? 0).toFixed(2)) },
    settings: { callsPerCase: o.calls, rounds: o.rounds, concurrency: o.concurrency, listenMs: o.listenMs, wavSeconds: WAV_SECONDS, transcoder },
    checks,
    router,
    baseline,
    fetchBaseline,
    summary,
    notes,
  };
}

const COLORS = ['#9ecae1', '#3182bd', '#fdae6b', '#e6550d'];

function writePlots(base: string, r: CallRouterReport): string[] {
  const modes: Mode[] = ['sequential', 'concurrent'];
  const series = (cats: string[], pick: (cat: string, m: Mode) => { p50: number | undefined; p99: number | undefined } | undefined): { name: string; color: string; values: (number | undefined)[] }[] =>
    modes.flatMap((m, i) => [
      { name: `p50 ${m}`, color: COLORS[2 * i] as string, values: cats.map((c) => pick(c, m)?.p50) },
      { name: `p99 ${m}`, color: COLORS[2 * i + 1] as string, values: cats.map((c) => pick(c, m)?.p99) },
    ]);
  const firstRtp = (cat: string, m: Mode): { p50: number | undefined; p99: number | undefined } | undefined =>
    cat === 'play media (baseline)' ? r.baseline.find((b) => b.mode === m)?.playToFirstRtp : r.router.find((x) => x.case === cat && x.mode === m)?.okToFirstRtp;
  const all = ['play media (baseline)', ...ROUTER_CASES];
  const warm = ['play media (baseline)', 'say-warm', 'play-warm'];
  const fetchCats = ['fetch (baseline)', 'router fetch'];
  const fetchPick = (cat: string, m: Mode): { p50: number | undefined; p99: number | undefined } | undefined => {
    if (cat === 'fetch (baseline)') return r.fetchBaseline.find((b) => b.mode === m)?.fetch;
    const s = r.summary.fetch.find((x) => x.mode === m);
    return s === undefined ? undefined : { p50: s.routerP50, p99: s.routerP99 };
  };
  const files: [string, string][] = [
    [`${base}-first-rtp.svg`, renderBarChart({ title: 'Call router: 200 OK → first RTP packet at the caller', yLabel: 'ms', categories: all, series: series(all, firstRtp), decimals: 1 })],
    [`${base}-warm.svg`, renderBarChart({ title: 'Warm cache: 200 OK → first RTP vs ng play media → first RTP', yLabel: 'ms', categories: warm, series: series(warm, firstRtp), decimals: 2 })],
    [`${base}-fetch.svg`, renderBarChart({ title: 'Instruction document fetch: router vs plain fetch()', yLabel: 'ms', categories: fetchCats, series: series(fetchCats, fetchPick), decimals: 2 })],
  ];
  for (const [name, svg] of files) writeFileSync(join(RESULTS, name), svg);
  return files.map(([name]) => name);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
