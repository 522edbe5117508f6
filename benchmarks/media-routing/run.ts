/**
 * Media-routing benchmark: one-way RTP latency and jitter, p50/p99, at 50 and
 * 200 concurrent 20 ms streams, for media anchored at the edge, media forced
 * through the home region (the trombone) and a remote media resource, with
 * direct loopback as the baseline in the same run. Real rtpengine processes,
 * user-space UDP delay relays as region links.
 *
 *   npx tsx benchmarks/media-routing/run.ts [--quick] [--streams 50,200] [--link-delay-ms 40]
 *       [--measure-ms N] [--warmup-ms N] [--rounds N] [--keep]
 *
 * Results: benchmarks/results/media-routing.{json,md} and media-routing-*.svg
 * (media-routing-quick.* with --quick, so a smoke run never overwrites a full one).
 *
 * Addresses (127.0.11.0/24 only): edge rtpengine 127.0.11.1, home 127.0.11.2,
 * remote 127.0.11.3 (ng port 2231 each; RTP 53000–53999 on the edge,
 * 54000–54999 on home and remote, distinct addresses), sender 127.0.11.10,
 * receiver 127.0.11.11, outbound link relays 127.0.11.20, return links 127.0.11.21.
 */
import dgram from 'node:dgram';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { NgClient } from '../../media/ng/client.js';
import { ChildGroup } from '../lib/children.js';
import { startBenchRtpengine } from '../lib/rtpengine.js';
import { percentile } from '../lib/stats.js';
import { buildPaths, CASES, type Address, type CaseName, type PathContext } from './paths.js';
import { renderMarkdown, summarize, type Dist, type MediaRoutingReport, type RunResult } from './report.js';
import { ProbeCollector } from './rtp-probe.js';
import { renderBarChart } from './svg.js';
import { startWorker, type BenchWorker } from './workers.js';
import { resultStamp } from '../lib/result-stamp.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const RESULTS = join(ROOT, 'benchmarks', 'results');
const PACKET_MS = 20;
const HOSTS = { edge: '127.0.11.1', home: '127.0.11.2', remote: '127.0.11.3', sender: '127.0.11.10', receiver: '127.0.11.11', linkOut: '127.0.11.20', linkBack: '127.0.11.21' };
const NG_PORT = 2231;

const log = (s: string): void => console.log(s);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Cli {
  quick: boolean;
  keep: boolean;
  streams: number[];
  linkDelayMs: number;
  /** Measured time per case, summed over rounds. */
  measureMs: number;
  warmupMs: number;
  /** Cases run interleaved in this many rounds (measureMs / rounds each), so a burst of other load on the host hits every case alike. */
  rounds: number;
}

function cli(): Cli {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      streams: { type: 'string', default: '50,200' },
      'link-delay-ms': { type: 'string', default: '40' },
      'measure-ms': { type: 'string' },
      'warmup-ms': { type: 'string' },
      rounds: { type: 'string' },
    },
  });
  const streams = values.streams.split(',').map(Number);
  if (streams.some((n) => !Number.isInteger(n) || n < 1 || n > 240)) throw new Error('--streams: integers 1..240 (each rtpengine has 1000 ports, 4 per call)');
  const num = (v: string | undefined, d: number, what: string): number => {
    const n = v === undefined ? d : Number(v);
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${what} must be a number >= 0`);
    return n;
  };
  const quick = values.quick;
  return {
    quick,
    keep: values.keep,
    streams,
    linkDelayMs: num(values['link-delay-ms'], 40, 'link-delay-ms'),
    measureMs: num(values['measure-ms'], quick ? 2500 : 10_000, 'measure-ms'),
    warmupMs: num(values['warmup-ms'], quick ? 500 : 1000, 'warmup-ms'),
    rounds: Math.max(1, Math.round(num(values.rounds, quick ? 1 : 5, 'rounds'))),
  };
}

function dist(xs: number[]): Dist {
  const r = (v: number | undefined): number | undefined => (v === undefined ? undefined : Math.round(v * 1000) / 1000);
  return { p50: r(percentile(xs, 50)), p99: r(percentile(xs, 99)), p999: r(percentile(xs, 99.9)), max: r(xs.reduce((a, b) => Math.max(a, b), -Infinity)) };
}

interface Receivers {
  addresses: Address[];
  collector: ProbeCollector;
  close(): Promise<void>;
}

/** One socket per stream on the receiver address, timestamping on arrival. */
async function openReceivers(n: number): Promise<Receivers> {
  const sockets: dgram.Socket[] = [];
  const state = { collector: new ProbeCollector(n) };
  for (let i = 0; i < n; i++) {
    const s = dgram.createSocket({ type: 'udp4', recvBufferSize: 1 << 20 });
    s.on('message', (m) => state.collector.onPacket(m, process.hrtime.bigint()));
    s.on('error', () => undefined);
    await new Promise<void>((r) => s.bind(0, HOSTS.receiver, r));
    sockets.push(s);
  }
  return {
    addresses: sockets.map((s) => ({ address: HOSTS.receiver, port: s.address().port })),
    get collector() {
      return state.collector;
    },
    set collector(c: ProbeCollector) {
      state.collector = c;
    },
    close: async () => {
      await Promise.all(sockets.map((s) => new Promise<void>((r) => s.close(() => r()))));
    },
  };
}

/** What one case accumulates over its rounds. */
interface CaseTally {
  collector: ProbeCollector;
  sent: number;
  relayDrops: Record<string, number> | undefined;
}

/** One round of one case: build the paths, send warm-up + measured window, tear down. Samples go to `tally`. */
async function runRound(name: CaseName, ctx: PathContext, sender: BenchWorker, rx: Receivers, tally: CaseTally, measureMs: number, o: Cli): Promise<void> {
  rx.collector = tally.collector;
  const paths = await buildPaths(name, ctx);
  try {
    const now = process.hrtime.bigint();
    const fromNs = now + BigInt(Math.round(o.warmupMs * 1e6));
    const toNs = fromNs + BigInt(Math.round(measureMs * 1e6));
    tally.collector.window = { fromNs, toNs };
    const sent = await sender.request<{ sentInWindow: number }>(
      { type: 'run', targets: paths.targets, durationMs: o.warmupMs + measureMs + 200, windowFromNs: fromNs.toString(), windowToNs: toNs.toString() },
      'ran', o.warmupMs + measureMs + 30_000);
    tally.sent += sent.sentInWindow;
    // Let what is still in flight (two links) arrive.
    await sleep(2 * ctx.linkDelayMs + 300);
  } finally {
    const drops = await paths.teardown();
    if (drops !== undefined) {
      tally.relayDrops ??= {};
      for (const [k, v] of Object.entries(drops)) tally.relayDrops[k] = (tally.relayDrops[k] ?? 0) + v;
    }
  }
}

function resultOf(name: CaseName, n: number, t: CaseTally): RunResult {
  const received = t.collector.received;
  return {
    case: name,
    streams: n,
    latencyMs: dist(t.collector.latencyMs),
    jitterMs: dist(t.collector.jitterMs),
    sent: t.sent,
    received,
    lossPct: t.sent === 0 ? 0 : Math.round(((t.sent - received) / t.sent) * 100_000) / 1000,
    ...(t.relayDrops === undefined ? {} : { relayDrops: t.relayDrops }),
  };
}

async function main(): Promise<void> {
  const o = cli();
  mkdirSync(join(RESULTS, 'tmp'), { recursive: true });
  const workDir = mkdtempSync(join(RESULTS, 'tmp', 'media-routing-'));
  const group = new ChildGroup();
  const onSignal = (): void => {
    group.killAllNow();
    process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', () => group.killAllNow());
  const loadAtStart = loadavg()[0] ?? 0;
  const clients: NgClient[] = [];
  const links = { out: startWorker(new URL('./link-worker.ts', import.meta.url), {}), back: startWorker(new URL('./link-worker.ts', import.meta.url), {}) };
  let ok = false;
  const runs: RunResult[] = [];
  try {
    log(`media-routing: streams ${o.streams.join(', ')}, link ${o.linkDelayMs} ms, ${o.warmupMs} ms warm-up + ${o.measureMs} ms per case in ${o.rounds} interleaved round(s); logs in ${workDir}`);
    const nodes = [
      { id: 'edge', address: HOSTS.edge, portMin: 53000, portMax: 53999 },
      { id: 'home', address: HOSTS.home, portMin: 54000, portMax: 54999 },
      { id: 'remote', address: HOSTS.remote, portMin: 54000, portMax: 54999 },
    ];
    for (const nd of nodes) {
      const dir = join(workDir, nd.id);
      mkdirSync(dir, { recursive: true });
      await startBenchRtpengine(group, { ...nd, ngPort: NG_PORT, workDir: dir });
      clients.push(new NgClient({ address: nd.address, port: NG_PORT, timeoutMs: 3000 }));
    }
    const [edge, home, remote] = clients as [NgClient, NgClient, NgClient];
    for (const n of o.streams) {
      const sender = startWorker(new URL('./sender-worker.ts', import.meta.url), { bindHost: HOSTS.sender, streams: n, packetMs: PACKET_MS });
      const rx = await openReceivers(n);
      try {
        const bound = await sender.request<{ ports: number[] }>({ type: 'bind' }, 'bound');
        const ctx: PathContext = {
          edge, home, remote, links,
          linkDelayMs: o.linkDelayMs,
          linkHosts: { out: HOSTS.linkOut, back: HOSTS.linkBack },
          senders: bound.ports.map((port) => ({ address: HOSTS.sender, port })),
          receivers: rx.addresses,
          runId: `${Date.now().toString(36)}-${n}`,
        };
        const tallies = new Map<CaseName, CaseTally>(CASES.map((c) => [c, { collector: new ProbeCollector(n), sent: 0, relayDrops: undefined }]));
        for (let round = 0; round < o.rounds; round++) {
          for (const c of CASES) await runRound(c, ctx, sender, rx, tallies.get(c) as CaseTally, o.measureMs / o.rounds, o);
        }
        for (const c of CASES) {
          const r = resultOf(c, n, tallies.get(c) as CaseTally);
          runs.push(r);
          log(`  ${String(n).padStart(3)} streams ${c.padEnd(8)} latency p50 ${r.latencyMs.p50} p99 ${r.latencyMs.p99} ms, jitter p50 ${r.jitterMs.p50} p99 ${r.jitterMs.p99} ms, loss ${r.lossPct}% (${r.received}/${r.sent})`);
        }
        await sender.request({ type: 'close' }, 'closed');
      } finally {
        await sender.close();
        await rx.close();
      }
    }
    ok = true;
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await Promise.all([links.out.close(), links.back.close()]);
    await group.stopAll();
    if (ok && !o.keep) rmSync(workDir, { recursive: true, force: true });
  }

  // rtpengine prints its version on stderr when not on a terminal.
  const v = spawnSync('/usr/bin/rtpengine', ['--version'], { encoding: 'utf8', timeout: 5000 });
  const rtpengineVersion = /Version:\s*(\S+)/.exec(`${v.stdout ?? ''}${v.stderr ?? ''}`)?.[1] ?? 'unknown';
  const report: MediaRoutingReport = {
    benchmark: 'media-routing',
    generatedAt: new Date().toISOString(),
    quick: o.quick,
    host: { cpus: cpus().length, node: process.version, rtpengine: rtpengineVersion, loadavg1mAtStart: Number(loadAtStart.toFixed(2)), loadavg1mAtEnd: Number((loadavg()[0] ?? 0).toFixed(2)) },
    settings: { packetMs: PACKET_MS, warmupMs: o.warmupMs, measureMs: o.measureMs, rounds: o.rounds, linkDelayMs: o.linkDelayMs, streams: o.streams },
    runs,
    summary: summarize(runs, o.linkDelayMs, o.streams),
  };
  // A new set per run (plots included): the committed results are examples.
  const base = `${o.quick ? 'media-routing-quick' : 'media-routing'}-${resultStamp(report.generatedAt)}`;
  const svgs = writePlots(base, report);
  writeFileSync(join(RESULTS, `${base}.json`), JSON.stringify(report, null, 2) + '\n');
  writeFileSync(join(RESULTS, `${base}.md`), renderMarkdown(report, svgs));
  log(`wrote benchmarks/results/${base}.json, ${base}.md, ${svgs.join(', ')}`);
  for (const a of report.summary.aims) log(`aim: ${a.name}: ${a.value} → ${a.met === undefined ? 'n/a' : a.met ? 'met' : 'NOT met'}`);
}

const COLORS = ['#9ecae1', '#3182bd', '#fdae6b', '#e6550d'];

function writePlots(base: string, r: MediaRoutingReport): string[] {
  const get = (c: CaseName, n: number): RunResult | undefined => r.runs.find((x) => x.case === c && x.streams === n);
  const series = (cases: readonly CaseName[], pick: (x: RunResult) => Dist): { name: string; color: string; values: (number | undefined)[] }[] =>
    r.settings.streams.flatMap((n, i) => [
      { name: `p50 @ ${n} streams`, color: COLORS[(2 * i) % 4] as string, values: cases.map((c) => { const x = get(c, n); return x === undefined ? undefined : pick(x).p50; }) },
      { name: `p99 @ ${n} streams`, color: COLORS[(2 * i + 1) % 4] as string, values: cases.map((c) => { const x = get(c, n); return x === undefined ? undefined : pick(x).p99; }) },
    ]);
  const files: [string, string][] = [
    [`${base}-latency.svg`, renderBarChart({ title: `One-way RTP latency by media path (link ${r.settings.linkDelayMs} ms one way)`, yLabel: 'ms', categories: [...CASES], series: series(CASES, (x) => x.latencyMs), decimals: 2 })],
    [`${base}-jitter.svg`, renderBarChart({ title: 'Interarrival jitter (RFC 3550) by media path', yLabel: 'ms', categories: [...CASES], series: series(CASES, (x) => x.jitterMs), decimals: 3 })],
    [`${base}-local-overhead.svg`, renderBarChart({ title: 'Edge-anchored media vs direct loopback: one-way latency', yLabel: 'ms', categories: ['direct', 'edge'], series: series(['direct', 'edge'], (x) => x.latencyMs), decimals: 3 })],
  ];
  for (const [name, svg] of files) writeFileSync(join(RESULTS, name), svg);
  return files.map(([name]) => name);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
