/**
 * App-edge benchmark (issue 11): an application call entering at an edge for
 * a number homed in another region, with the application's media at the edge
 * (mesh.applicationMedia `edge`) vs at home (`home`, the trombone), in ONE run.
 * Per call: first-audio delay, the rtpengine hops of the caller's RTP path and
 * the round trip caller → application's media → caller (one way = half).
 *
 *   npx tsx benchmarks/media-routing/app-edge.ts [--quick] [--calls N] [--link-delay-ms 40]
 *       [--verb say|play] [--probes N] [--keep]
 *
 * Run it inside a network namespace of its own, as root (the echo binds
 * 127.0.0.1:9, rtpengine's discard address, which every rtpengine on the host
 * sends to):
 *   ip netns add bench; ip netns exec bench ip link set lo up
 *   ip netns exec bench npx tsx benchmarks/media-routing/app-edge.ts --quick
 *
 * Three in-process regions share one Redis: `us-east` is the number's home,
 * `eu-west` an edge with applicationMedia `edge`, `ap-south` an edge with
 * `home`. Calls alternate between the two edges, one at a time.
 *
 * Region links (every one delays `--link-delay-ms` one way, both directions):
 * - SIP between signaling nodes: `UdpDelayRelay`s pinned to the two nodes, as
 *   infra/link-delays.ts plans them (each region sees the other at an
 *   address of its own block, `.100 + i`).
 * - ng from the home to an edge's rtpengine (the home drives the application
 *   leg there): the home's discovery view lists the edge's media node at a
 *   delaying NAT (`.121`) instead of the node itself.
 * - RTP between rtpengines of different regions: each rtpengine advertises
 *   `.111` (`--interface=REAL!ADVERTISED`), where a `RegionNat` fronts all its
 *   ports and delays flows whose source is in another region (the caller, in
 *   the edge's own block, crosses it without delay).
 *
 * Addresses: 127.0.61.0/24 us-east, 127.0.62.0/24 eu-west, 127.0.63.0/24
 * ap-south: signaling .1:5060, rtpengine .11 (ng 2223; RTP 47400–47599,
 * 47000–47199, 47200–47399), advertised RTP .111 (NAT upstream .112), ng NAT
 * .121 (upstream .122), callers .50 (SIP 5070); Redis 127.0.0.1:6461; app
 * server 127.0.0.1 (any port); echo 127.0.0.1:9.
 *
 * Results: benchmarks/results/media-routing-app-edge[-quick]-<UTC time>.{json,md,svg}, a new set per run.
 */
import dgram from 'node:dgram';
import { execFileSync, spawnSync } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import { Redis } from 'ioredis';
import { bootstrapAccount } from '../../control-plane/store/accounts.js';
import { newSid } from '../../control-plane/store/ids.js';
import { parseConfig } from '../../infra/config.js';
import { ensureRedis } from '../../infra/redis.js';
import { rtpengineArgs, RTPENGINE_BINARY } from '../../infra/rtpengine.js';
import { startSignalingNode, type SignalingNode } from '../../infra/signaling-node.js';
import { NgClient } from '../../media/ng/client.js';
import { createLogger } from '../../regions/core/log.js';
import type { ServiceInstance } from '../../regions/discovery/types.js';
import { UdpDelayRelay } from '../../regions/link/udp-delay-relay.js';
import { NumberStore } from '../../regions/store/numbers.js';
import { apiDate } from '../../regions/store/schema.js';
import { ChildGroup } from '../lib/children.js';
import { AppCaller } from './app-caller.js';
import { APP_MEDIA_MODES, modeFigures, renderAppEdgeMarkdown, summarizeAppEdge, type AppCallSample, type AppEdgeReport, type AppMediaMode } from './app-edge-report.js';
import { linkDelayFor, RegionNat } from './region-nat.js';
import { renderBarChart } from './svg.js';
import { resultStamp } from '../lib/result-stamp.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const RESULTS = join(ROOT, 'benchmarks', 'results');
const REDIS_URL = 'redis://127.0.0.1:6461';
const NG_PORT = 2223;
const SIP_PORT = 5060;
const NUMBER = '+15550610001';
const ECHO = { address: '127.0.0.1', port: 9 };

interface RegionPlan {
  id: string;
  block: string;
  role: 'home' | AppMediaMode;
  portMin: number;
  portMax: number;
}
const HOME: RegionPlan = { id: 'us-east', block: '127.0.61.', role: 'home', portMin: 47400, portMax: 47599 };
const EDGES: Record<AppMediaMode, RegionPlan> = {
  edge: { id: 'eu-west', block: '127.0.62.', role: 'edge', portMin: 47000, portMax: 47199 },
  home: { id: 'ap-south', block: '127.0.63.', role: 'home', portMin: 47200, portMax: 47399 },
};
const REGIONS: RegionPlan[] = [HOME, EDGES.edge, EDGES.home];
const BLOCKS: Record<string, string> = Object.fromEntries(REGIONS.map((r) => [r.id, r.block]));
const at = (r: RegionPlan, host: number): string => `${r.block}${host}`;
/** Host of region `to` as seen from inside region `from`'s block (infra/link-delays.ts: `.100 + catalog index`). */
const viewOf = (from: RegionPlan, to: RegionPlan): string => at(from, 100 + REGIONS.indexOf(to));

const log = (s: string): void => console.log(s);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Cli {
  quick: boolean;
  keep: boolean;
  calls: number;
  linkDelayMs: number;
  verb: 'say' | 'play';
  probes: number;
}

function cli(): Cli {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      calls: { type: 'string' },
      'link-delay-ms': { type: 'string', default: '40' },
      verb: { type: 'string', default: 'say' },
      probes: { type: 'string' },
    },
  });
  const int = (v: string | undefined, d: number, what: string, min: number, max: number): number => {
    const n = v === undefined ? d : Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${what} must be an integer ${min}..${max}`);
    return n;
  };
  if (values.verb !== 'say' && values.verb !== 'play') throw new Error('--verb must be say or play');
  const quick = values.quick;
  return {
    quick,
    keep: values.keep,
    calls: int(values.calls, quick ? 4 : 20, 'calls', 1, 500),
    linkDelayMs: int(values['link-delay-ms'], 40, 'link-delay-ms', 0, 1000),
    verb: values.verb,
    probes: int(values.probes, quick ? 50 : 100, 'probes', 1, 1000),
  };
}

async function startRtpengine(group: ChildGroup, r: RegionPlan, dir: string, dtmfDest: string): Promise<void> {
  const real = at(r, 11);
  const args = rtpengineArgs({ id: `${r.id}-media`, interfaceAddress: real, ngPort: NG_PORT, portMin: r.portMin, portMax: r.portMax, deleteDelaySec: 0, logLevel: 4, dtmfLogDest: dtmfDest })
    .map((a) => (a === `--interface=${real}` ? `--interface=${real}!${at(r, 111)}` : a));
  const child = group.spawn(`rtpengine ${r.id}`, RTPENGINE_BINARY, args, { logFile: join(dir, `rtpengine-${r.id}.log`) });
  const ng = new NgClient({ address: real, port: NG_PORT, timeoutMs: 200, retransmitMs: 100 });
  try {
    for (let i = 0; i < 50; i++) {
      if (child.hasExited()) break;
      if (await ng.ping().then(() => true, () => false)) return;
      await sleep(100);
    }
  } finally {
    await ng.close();
  }
  throw new Error(`rtpengine of ${r.id} did not answer ng ping (log: ${join(dir, `rtpengine-${r.id}.log`)})`);
}

/** The echo at rtpengine's discard address: sends every datagram from one of our rtpengines back to its source. */
async function startEcho(): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4');
  const ours = new Set(REGIONS.map((r) => at(r, 11)));
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.bind(ECHO.port, ECHO.address, () => resolve());
  }).catch((e: unknown) => {
    throw new Error(`cannot bind the echo on ${ECHO.address}:${ECHO.port} (${(e as Error).message}); run as root inside a network namespace of its own`);
  });
  s.on('error', () => undefined);
  s.on('message', (m, from) => {
    if (ours.has(from.address)) s.send(m, from.port, from.address);
  });
  return s;
}

/** The home reaches other regions' media nodes through their ng NAT (the region link), not directly. */
function routeNgThroughLinks(home: SignalingNode): void {
  const view = home.discovery.media as unknown as { instances(): readonly ServiceInstance[]; get(id: string): ServiceInstance | undefined };
  const instances = view.instances.bind(view);
  const get = view.get.bind(view);
  const map = (i: ServiceInstance): ServiceInstance => {
    const r = REGIONS.find((x) => x.id === i.region);
    return r === undefined || r === HOME ? i : { ...i, address: at(r, 121) };
  };
  view.instances = () => instances().map(map);
  view.get = (id) => {
    const i = get(id);
    return i === undefined ? undefined : map(i);
  };
}

async function main(): Promise<void> {
  const o = cli();
  const started = Date.now();
  const budgetMs = o.quick ? 110_000 : 20 * 60_000;
  mkdirSync(join(RESULTS, 'tmp'), { recursive: true });
  const work = mkdtempSync(join(RESULTS, 'tmp', 'app-edge-'));
  const group = new ChildGroup();
  const onSignal = (): void => {
    group.killAllNow();
    process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', () => group.killAllNow());
  const loadAtStart = loadavg()[0] ?? 0;
  const prefix = `bench-ae-${Date.now().toString(36)}:`;

  let redis: Redis | undefined;
  let web: ServerType | undefined;
  let echo: dgram.Socket | undefined;
  const callers = new Map<AppMediaMode, AppCaller>();
  const nats: { name: string; nat: RegionNat }[] = [];
  const relays: { name: string; relay: UdpDelayRelay }[] = [];
  let links: AppEdgeReport['links'] = [];
  const nodes = new Map<string, SignalingNode>();
  const ngs = new Map<string, NgClient>();
  const logStreams: ReturnType<typeof createWriteStream>[] = [];
  const samples: AppCallSample[] = [];
  let ok = false;
  try {
    log(`app-edge: ${o.calls} calls per mode, link ${o.linkDelayMs} ms one way, <${o.verb === 'say' ? 'Say' : 'Play'}> then <Pause>; work dir ${work}`);
    const redisProc = await ensureRedis({ url: REDIS_URL, runDir: work, appendOnly: false });
    if (redisProc !== null) group.adopt('redis', redisProc);
    redis = new Redis(REDIS_URL, { commandTimeout: 2000, maxRetriesPerRequest: 1 });

    // The application: audio, then a pause long enough for the probes.
    const pauseS = Math.ceil((1500 + o.probes * 20 + 2 * o.linkDelayMs + 2000) / 1000) + 2;
    const tone = join(work, 'tone.wav');
    if (o.verb === 'play') execFileSync('sox', ['-n', '-r', '8000', '-c', '1', '-b', '16', tone, 'synth', '0.8', 'sine', '440', 'vol', '0.3'], { timeout: 10_000 });
    const app = new Hono();
    let appUrl = '';
    app.get('/tone.wav', (c) => c.body(readFileSync(tone), 200, { 'Content-Type': 'audio/wav' }));
    app.all('/doc', (c) => c.body(`<Response>${o.verb === 'say' ? '<Say>Welcome.</Say>' : `<Play>${appUrl}/tone.wav</Play>`}<Pause length="${pauseS}"/></Response>`, 200, { 'Content-Type': 'text/xml' }));
    web = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 });
    await new Promise((r) => web!.once('listening', r));
    appUrl = `http://127.0.0.1:${(web.address() as AddressInfo).port}`;

    const account = await bootstrapAccount(redis, prefix, { friendlyName: 'app-edge bench', homeRegion: HOME.id });
    const now = apiDate();
    await new NumberStore(redis, prefix).create({ sid: newSid('PN'), accountSid: account.sid, phoneNumber: NUMBER, friendlyName: 'app-edge', voiceUrl: `${appUrl}/doc`, voiceMethod: 'POST', homeRegion: HOME.id, dateCreated: now, dateUpdated: now }, Date.now());

    // Media nodes, their advertised-address NATs and (edges) the ng NATs the home goes through.
    for (const r of REGIONS) {
      await startRtpengine(group, r, work, `${at(r, 1)}:5998`);
      ngs.set(r.id, new NgClient({ address: at(r, 11), port: NG_PORT, timeoutMs: 2000 }));
      const ports: number[] = [];
      for (let p = r.portMin; p <= r.portMax; p++) ports.push(p);
      nats.push({ name: `RTP NAT of ${r.id}'s rtpengine (${at(r, 111)})`, nat: await RegionNat.start({ listenAddress: at(r, 111), targetAddress: at(r, 11), ports, upstreamAddress: at(r, 112), delayFor: (src) => linkDelayFor(src, r.id, BLOCKS, o.linkDelayMs) }) });
      if (r !== HOME) nats.push({ name: `ng from ${HOME.id} to ${r.id}'s rtpengine (${at(r, 121)})`, nat: await RegionNat.start({ listenAddress: at(r, 121), targetAddress: at(r, 11), ports: [NG_PORT], upstreamAddress: at(r, 122), delayFor: () => o.linkDelayMs }) });
    }
    // SIP between the home and each edge (both directions, near peer pinned like infra/link-delays.ts).
    for (const e of [EDGES.edge, EDGES.home]) {
      for (const [a, b] of [[e, HOME], [HOME, e]] as const) {
        const relay = new UdpDelayRelay({ listenHost: viewOf(a, b), listenPort: SIP_PORT, targetHost: at(b, 1), targetPort: SIP_PORT, localAddress: viewOf(b, a), delayMs: o.linkDelayMs, near: { address: at(a, 1), port: SIP_PORT }, maxDatagramBytes: 65507 });
        await relay.start();
        relays.push({ name: `SIP ${a.id} → ${b.id}`, relay });
      }
    }

    const matrix: Record<string, Record<string, number>> = Object.fromEntries(REGIONS.map((a) => [a.id, Object.fromEntries(REGIONS.filter((b) => b !== a).map((b) => [b.id, o.linkDelayMs]))]));
    for (const r of REGIONS) {
      const dir = join(work, r.id);
      mkdirSync(dir, { recursive: true });
      const peers = (r === HOME ? [EDGES.edge, EDGES.home] : [HOME]).map((p) => ({ region: p.id, address: viewOf(r, p), port: SIP_PORT }));
      const config = parseConfig({
        region: r.id,
        nodeId: `ae-${r.id}-sig`,
        runDir: dir,
        sip: { address: at(r, 1), port: SIP_PORT, transports: ['UDP'] },
        redis: { url: REDIS_URL, keyPrefix: prefix },
        media: { nodes: [{ id: `ae-${r.id}-media`, address: at(r, 11), ngPort: NG_PORT, rtpPortMin: r.portMin, rtpPortMax: r.portMax, capabilities: ['relay', 'play', 'record'] }], healthIntervalMs: 250, ngTimeoutMs: 800 + 2 * o.linkDelayMs },
        routes: [],
        mesh: { peers, homeRules: [], linkDelaysMs: matrix[r.id], linkMatrixMs: matrix, applicationMedia: r === EDGES.home ? 'home' : 'edge' },
        logLevel: 'warn',
      });
      const stream = createWriteStream(join(dir, 'signaling.log'));
      logStreams.push(stream);
      const node = await startSignalingNode(config, createLogger('info', {}, (l) => stream.write(l + '\n')));
      nodes.set(r.id, node);
      if (r === HOME) routeNgThroughLinks(node);
    }
    const deadline = Date.now() + 15_000;
    while (![...nodes.values()].every((n) => n.mediaPort.placementNodes().filter((x) => x.healthy).length === REGIONS.length)) {
      if (Date.now() > deadline) throw new Error('media nodes not discovered by every region within 15 s');
      await sleep(100);
    }

    echo = await startEcho();
    const callerPlan = (mode: AppMediaMode): { sip: { address: string; port: number }; target: { address: string; port: number } } => ({ sip: { address: at(EDGES[mode], 50), port: 5070 }, target: { address: at(EDGES[mode], 1), port: SIP_PORT } });
    for (const m of APP_MEDIA_MODES) callers.set(m, await AppCaller.open(callerPlan(m).sip, at(EDGES[m], 50)));

    const place = async (mode: AppMediaMode): Promise<AppCallSample> => {
      const sessions: Record<string, number> = Object.fromEntries(REGIONS.map((r) => [r.id, 0]));
      const t = await callers.get(mode)!.call(callerPlan(mode).target, {
        dialed: NUMBER,
        from: `bench-${mode}`,
        timeoutMs: 10_000,
        quietMs: 300,
        maxAudioMs: 10_000,
        probeCount: o.probes,
        drainMs: 2 * o.linkDelayMs + 300,
        whileUp: async () => {
          for (const wait of [100, 600]) {
            await sleep(wait);
            for (const r of REGIONS) {
              const n = (await ngs.get(r.id)!.list(100).catch(() => [])).length;
              sessions[r.id] = Math.max(sessions[r.id] ?? 0, n);
            }
          }
        },
      });
      const ms = (a: bigint | undefined, b: bigint | undefined): number | undefined => (a === undefined || b === undefined ? undefined : Number(b - a) / 1e6);
      return {
        mode,
        ok: t.ok,
        ...(t.error === undefined ? {} : { error: t.error }),
        ...(t.okNs === undefined ? {} : { inviteToOkMs: ms(t.inviteNs, t.okNs) }),
        ...(t.firstAudioNs === undefined ? {} : { firstAudioMs: ms(t.okNs, t.firstAudioNs), inviteToAudioMs: ms(t.inviteNs, t.firstAudioNs) }),
        sessionsByNode: sessions,
        echoRttMs: t.echoRttMs.map((x) => Math.round(x * 1000) / 1000),
        probesSent: t.probesSent,
      };
    };
    /** Calls run one at a time: let the previous call's teardown (BYE across the link, ng deletes) finish. */
    const settle = async (): Promise<void> => {
      const until = Date.now() + 5000;
      while (Date.now() < until) {
        let busy = 0;
        for (const r of REGIONS) busy += (await ngs.get(r.id)!.list(100).catch(() => [])).length;
        if (busy === 0) return;
        await sleep(50);
      }
    };

    // Warm-up (not counted): TTS / media cache, JIT, ng clients.
    for (const m of APP_MEDIA_MODES) {
      const w = await place(m);
      log(`  warm-up ${m}: ${w.ok ? 'ok' : w.error}`);
      await settle();
    }
    for (let i = 0; i < o.calls; i++) {
      if (Date.now() - started > budgetMs) throw new Error('time budget exceeded');
      for (const m of i % 2 === 0 ? APP_MEDIA_MODES : [...APP_MEDIA_MODES].reverse()) {
        const s = await place(m);
        samples.push(s);
        await settle();
      }
      const last = samples.slice(-2).map((s) => `${s.mode} ${s.ok ? `first audio ${s.firstAudioMs?.toFixed(1)} ms, echo p50 ${median(s.echoRttMs)?.toFixed(1)} ms, sessions ${JSON.stringify(s.sessionsByNode)}` : `FAILED ${s.error}`}`);
      log(`  call ${i + 1}/${o.calls}: ${last.join(' | ')}`);
    }
    links = [
      ...relays.map(({ name, relay }) => {
        const st = relay.stats();
        return { name, forwarded: st.forwarded.toTarget + st.forwarded.toNear, dropped: Object.values(st.dropped).reduce((a, b) => a + b, 0) };
      }),
      ...nats.map(({ name, nat }) => ({ name, forwarded: nat.stats().forwarded, dropped: nat.stats().dropped })),
    ];
    ok = true;
  } finally {
    for (const c of callers.values()) await c.close();
    echo?.close();
    for (const n of nodes.values()) await n.close().catch(() => undefined);
    for (const n of ngs.values()) await n.close();
    await Promise.all([...nats.map((n) => n.nat.close()), ...relays.map((r) => r.relay.close())]);
    await new Promise((r) => (web === undefined ? r(undefined) : web.close(r)));
    redis?.disconnect();
    for (const s of logStreams) s.end();
    await group.stopAll();
    if (ok && !o.keep) rmSync(work, { recursive: true, force: true });
  }

  const modes = APP_MEDIA_MODES.map((m) => modeFigures(m, samples));
  // rtpengine prints its version on stderr when not on a terminal.
  const v = spawnSync(RTPENGINE_BINARY, ['--version'], { encoding: 'utf8', timeout: 5000 });
  const rtpengineVersion = /Version:\s*(\S+)/.exec(`${v.stdout ?? ''}${v.stderr ?? ''}`)?.[1] ?? 'unknown';
  const report: AppEdgeReport = {
    benchmark: 'media-routing/app-edge',
    generatedAt: new Date().toISOString(),
    quick: o.quick,
    host: { cpus: cpus().length, node: process.version, rtpengine: rtpengineVersion, loadavg1mAtStart: Number(loadAtStart.toFixed(2)), loadavg1mAtEnd: Number((loadavg()[0] ?? 0).toFixed(2)) },
    settings: { linkDelayMs: o.linkDelayMs, callsPerMode: o.calls, verb: o.verb, probesPerCall: o.probes, regions: { home: HOME.id, edgeMode: EDGES.edge.id, homeMode: EDGES.home.id } },
    modes,
    summary: summarizeAppEdge(modes[0]!, modes[1]!, o.linkDelayMs),
    links,
    calls: samples,
  };
  const stamp = resultStamp(report.generatedAt);
  const base = `media-routing-app-edge${o.quick ? '-quick' : ''}-${stamp}`;
  const svg = `${base}.svg`;
  writeFileSync(join(RESULTS, svg), renderBarChart({
    title: `Application call entering at an edge (link ${o.linkDelayMs} ms one way), p50`,
    yLabel: 'ms',
    categories: ['INVITE→200', 'first audio (200→RTP)', 'INVITE→audio', 'echo round trip', 'one way'],
    series: modes.map((m, i) => ({ name: `media at ${m.mode}`, color: ['#3182bd', '#e6550d'][i] as string, values: [m.inviteToOkMs.p50, m.firstAudioMs.p50, m.inviteToAudioMs.p50, m.echoRttMs.p50, m.oneWayMs.p50] })),
    decimals: 1,
  }));
  writeFileSync(join(RESULTS, `${base}.json`), JSON.stringify(report, null, 2) + '\n');
  writeFileSync(join(RESULTS, `${base}.md`), renderAppEdgeMarkdown(report, svg));
  log('');
  for (const l of renderAppEdgeMarkdown(report, undefined).split('\n').filter((x) => x.startsWith('|'))) log(l);
  log(`\nwrote benchmarks/results/${base}.{json,md,svg}`);
}

function median(xs: readonly number[]): number | undefined {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)];
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
