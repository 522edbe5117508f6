/** The call-router benchmark's report: its JSON shape, the summary (ratios to the same-run baselines) and the Markdown. */
import { percentile } from '../lib/stats.js';
import type { RouterCase } from './app-server.js';

export type Mode = 'sequential' | 'concurrent';

export interface Dist {
  n: number;
  p50: number | undefined;
  p90: number | undefined;
  p99: number | undefined;
  max: number | undefined;
  mean: number | undefined;
}

const r3 = (v: number | undefined): number | undefined => (v === undefined || !Number.isFinite(v) ? undefined : Math.round(v * 1000) / 1000);

export function dist(xs: readonly number[]): Dist {
  return {
    n: xs.length,
    p50: r3(percentile(xs, 50)),
    p90: r3(percentile(xs, 90)),
    p99: r3(percentile(xs, 99)),
    max: xs.length === 0 ? undefined : r3(Math.max(...xs)),
    mean: xs.length === 0 ? undefined : r3(xs.reduce((a, b) => a + b, 0) / xs.length),
  };
}

/** One router case in one mode. All times in ms. */
export interface RouterCaseResult {
  case: RouterCase;
  mode: Mode;
  calls: number;
  failed: number;
  /** First failure messages (at most 5). */
  errors: string[];
  /** The caller's 200 OK → the first RTP packet at the caller. */
  okToFirstRtp: Dist;
  /** INVITE sent → 200 OK received. */
  inviteToOk: Dist;
  /** INVITE sent → the router calls fetch() for the document (number lookup, media offer/answer, call record). From the node probe. */
  inviteToFetchStart: Dist;
  /** INVITE → fetch start, split (node probe): before ng offer (number lookup), ng offer + answer, after the answer (call record, router start). */
  setup: { beforeOffer: Dist; offerAndAnswer: Dist; afterAnswer: Dist };
  /** The router's fetch of the instruction document, request start → body read (node probe). */
  docFetch: Dist;
  /** Document body read → 200 OK at the caller (parse, first verb answers the call). */
  fetchEndToOk: Dist;
  /** App server: handler entry → response handed back. */
  appHandling: Dist;
  /** 200 OK at the caller → the node sends ng `play media` (node probe): the router's and the cache's part. */
  okToPlaySent: Dist;
  /** ng `play media` sent by the node → first RTP at the caller: rtpengine's part (compare with the baseline). */
  playSentToFirstRtp: Dist;
  /** Helper programs and media fetches whose start fell in this case's phase (node probe), ms each. */
  spans: { espeakNg: Dist; sox: Dist; spawnBlock: Dist; mediaFetch: Dist };
  /**
   * Sequential mode only, per call: 200 OK → `play media` sent split into espeak-ng, sox, the media fetch
   * and the rest of the router's work; then `play media` sent → first RTP (rtpengine).
   */
  coldPath: { espeakNg: Dist; sox: Dist; mediaFetch: Dist; routerOther: Dist; engine: Dist } | undefined;
}

export interface BaselineResult {
  mode: Mode;
  calls: number;
  failed: number;
  /** ng `play media` sent → the first RTP packet, on an rtpengine call set up the way the router's legs are. */
  playToFirstRtp: Dist;
}

export interface FetchBaselineResult {
  mode: Mode;
  requests: number;
  failed: number;
  /** fetch() POST of a document from the benchmark process → body read. */
  fetch: Dist;
}

export interface CallRouterReport {
  benchmark: 'call-router';
  generatedAt: string;
  quick: boolean;
  host: { cpus: number; node: string; loadavg1mAtStart: number; loadavg1mAtEnd: number };
  settings: { callsPerCase: number; rounds: number; concurrency: number; listenMs: number; wavSeconds: number; transcoder: string };
  /** Cache work seen in the whole run, to check that cold is cold and warm is warm. */
  checks: { name: string; expected: string; seen: number; ok: boolean }[];
  router: RouterCaseResult[];
  baseline: BaselineResult[];
  fetchBaseline: FetchBaselineResult[];
  summary: Summary;
  notes: string[];
}

export interface Summary {
  rows: {
    case: RouterCase;
    mode: Mode;
    p50: number | undefined;
    p99: number | undefined;
    /** ÷ the `play media` baseline of the same mode. */
    ratioP50: number | undefined;
    ratioP99: number | undefined;
  }[];
  fetch: { mode: Mode; routerP50: number | undefined; routerP99: number | undefined; baselineP50: number | undefined; baselineP99: number | undefined; ratioP50: number | undefined; ratioP99: number | undefined }[];
}

const ratio = (a: number | undefined, b: number | undefined): number | undefined => (a === undefined || b === undefined || b <= 0 ? undefined : Math.round((a / b) * 100) / 100);

/** `docFetchSamples`: every router-side document fetch of the mode (ms), all cases together. */
export function summarize(router: RouterCaseResult[], baseline: BaselineResult[], fetchBaseline: FetchBaselineResult[], docFetchSamples: Record<Mode, number[]>): Summary {
  const base = (m: Mode): BaselineResult | undefined => baseline.find((b) => b.mode === m);
  const rows = router.map((r) => ({
    case: r.case,
    mode: r.mode,
    p50: r.okToFirstRtp.p50,
    p99: r.okToFirstRtp.p99,
    ratioP50: ratio(r.okToFirstRtp.p50, base(r.mode)?.playToFirstRtp.p50),
    ratioP99: ratio(r.okToFirstRtp.p99, base(r.mode)?.playToFirstRtp.p99),
  }));
  const fetch = (['sequential', 'concurrent'] as const).map((mode) => {
    const d = dist(docFetchSamples[mode]);
    const b = fetchBaseline.find((x) => x.mode === mode)?.fetch;
    return { mode, routerP50: d.p50, routerP99: d.p99, baselineP50: b?.p50, baselineP99: b?.p99, ratioP50: ratio(d.p50, b?.p50), ratioP99: ratio(d.p99, b?.p99) };
  });
  return { rows, fetch };
}

const f = (v: number | undefined, d = 2): string => (v === undefined ? 'n/a' : v.toFixed(d));
const x = (v: number | undefined): string => (v === undefined ? 'n/a' : `${v.toFixed(2)}×`);
const p = (d: Dist, dec = 2): string => `${f(d.p50, dec)} / ${f(d.p99, dec)}`;

export function renderMarkdown(r: CallRouterReport, svgs: string[]): string {
  const out: string[] = [];
  const seqBase = r.baseline.find((b) => b.mode === 'sequential');
  out.push('# Call router: 200 OK → first RTP of `Say` and `Play`, and instruction fetch');
  out.push('');
  out.push(`Generated ${r.generatedAt} by \`npx tsx benchmarks/call-router/run.ts${r.quick ? ' --quick' : ''}\`.`);
  out.push('');
  out.push('A signaling node (`infra/node-main.ts`, its own process) with two rtpengines and Redis answers calls to');
  out.push('application numbers; the caller is the benchmark\'s own UDP SIP UAC, whose 200 OK and RTP arrive on one');
  out.push('clock (`process.hrtime.bigint()`, CLOCK_MONOTONIC, which the node process reads too). The application');
  out.push('server (hono, in the benchmark process) answers each case with one verb:');
  out.push('');
  out.push('- **say-warm**: `<Say>` of the same sentence every call (the media cache has it);');
  out.push('- **say-cold**: `<Say>` of a sentence with the call\'s number in it (espeak-ng + sox every call);');
  out.push('- **play-warm**: `<Play>` of the same URL (`Cache-Control: max-age=3600`: no request, no transcode);');
  out.push(`- **play-cold**: \`<Play>\` of a new URL whose bytes differ too (fetch + ${r.settings.transcoder} every call; a ${r.settings.wavSeconds} s 16 kHz WAV).`);
  out.push('');
  out.push('Baselines in the same run: **play media** — ng `play media` → first RTP on an rtpengine call set up as the');
  out.push('router\'s legs are (offer from the party, answer with the platform SDP), no SIP, no router; **fetch** — a');
  out.push('`fetch()` POST of the same kind of document from the benchmark process to the same app server.');
  out.push(`${r.settings.callsPerCase} calls per case and mode, in ${r.settings.rounds} round(s) with the cases interleaved;`);
  out.push(`sequential = one call at a time, concurrent = ${r.settings.concurrency} at once. After the first RTP packet the caller listens ${r.settings.listenMs} ms, then sends BYE.`);
  out.push('');
  out.push('## 200 OK → first RTP (ms)');
  out.push('');
  out.push('| case | mode | p50 | p90 | p99 | max | ÷ play-media p50 | ÷ play-media p99 | failed |');
  out.push('|---|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const b of r.baseline) {
    out.push(`| baseline: ng play media → first RTP | ${b.mode} | ${f(b.playToFirstRtp.p50, 3)} | ${f(b.playToFirstRtp.p90, 3)} | ${f(b.playToFirstRtp.p99, 3)} | ${f(b.playToFirstRtp.max, 3)} | 1.00× | 1.00× | ${b.failed}/${b.calls} |`);
  }
  for (const c of r.router) {
    const row = r.summary.rows.find((s) => s.case === c.case && s.mode === c.mode);
    out.push(`| ${c.case} | ${c.mode} | ${f(c.okToFirstRtp.p50, 3)} | ${f(c.okToFirstRtp.p90, 3)} | ${f(c.okToFirstRtp.p99, 3)} | ${f(c.okToFirstRtp.max, 3)} | ${x(row?.ratioP50)} | ${x(row?.ratioP99)} | ${c.failed}/${c.calls} |`);
  }
  out.push('');
  out.push('## Instruction documents (ms, p50 / p99)');
  out.push('');
  out.push('| case | mode | INVITE → 200 OK | INVITE → fetch starts | document fetch (router) | fetch end → 200 OK | app handler |');
  out.push('|---|---|---:|---:|---:|---:|---:|');
  for (const c of r.router) {
    out.push(`| ${c.case} | ${c.mode} | ${p(c.inviteToOk)} | ${p(c.inviteToFetchStart)} | ${p(c.docFetch)} | ${p(c.fetchEndToOk)} | ${p(c.appHandling, 3)} |`);
  }
  out.push('');
  out.push('INVITE → fetch starts, split (node probe): INVITE → ng `offer` sent (number, account and application');
  out.push('lookups in Redis, placement) · `offer` + `answer` round trips · `answer` reply → fetch starts (call record saved, router run starts).');
  out.push('');
  out.push('| case | mode | → offer sent | offer + answer | → fetch starts |');
  out.push('|---|---|---:|---:|---:|');
  for (const c of r.router) out.push(`| ${c.case} | ${c.mode} | ${p(c.setup.beforeOffer)} | ${p(c.setup.offerAndAnswer)} | ${p(c.setup.afterAnswer)} |`);
  out.push('');
  out.push('| mode | router fetch p50 | p99 | baseline fetch p50 | p99 | ratio p50 | ratio p99 |');
  out.push('|---|---:|---:|---:|---:|---:|---:|');
  for (const s of r.summary.fetch) out.push(`| ${s.mode} | ${f(s.routerP50, 3)} | ${f(s.routerP99, 3)} | ${f(s.baselineP50, 3)} | ${f(s.baselineP99, 3)} | ${x(s.ratioP50)} | ${x(s.ratioP99)} |`);
  out.push('');
  out.push('Router fetch = `fetch()` called → body read, timed inside the node by `node-probe.ts` (all cases of the mode together).');
  out.push('');
  out.push('## Where the cold path goes (sequential, ms per call, p50 / p99)');
  out.push('');
  out.push('| case | 200 OK → first RTP | espeak-ng | sox | media fetch | other router work | play media → first RTP | baseline play media → first RTP |');
  out.push('|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const c of r.router.filter((y) => y.mode === 'sequential' && y.coldPath !== undefined)) {
    const cp = c.coldPath!;
    out.push(`| ${c.case} | ${p(c.okToFirstRtp)} | ${p(cp.espeakNg)} | ${p(cp.sox)} | ${p(cp.mediaFetch)} | ${p(cp.routerOther)} | ${p(cp.engine)} | ${seqBase === undefined ? 'n/a' : p(seqBase.playToFirstRtp)} |`);
  }
  out.push('');
  out.push('All from the node probe, on the same clock as the caller: helper programs from `spawn()` to the child\'s');
  out.push('`close`, the media fetch from `fetch()` to the body\'s end, `play media` from the ng datagram leaving the node.');
  out.push('"Other router work" is 200 OK → `play media` sent minus the three: the call record update that `answer`');
  out.push('awaits before the first verb runs, cache bookkeeping (object write, index), the ng client. Sums of p50s');
  out.push('need not add up to the total\'s p50.');
  out.push('');
  out.push('| case | mode | 200 OK → play media sent | play media sent → first RTP |');
  out.push('|---|---|---:|---:|');
  for (const c of r.router) out.push(`| ${c.case} | ${c.mode} | ${p(c.okToPlaySent)} | ${p(c.playSentToFirstRtp)} |`);
  out.push('');
  out.push('| case | mode | espeak-ng runs | p50 / p99 | sox runs | p50 / p99 | spawn() blocks its thread p50 / p99 | media fetches | p50 / p99 |');
  out.push('|---|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const c of r.router) {
    const s = c.spans;
    out.push(`| ${c.case} | ${c.mode} | ${s.espeakNg.n} | ${p(s.espeakNg)} | ${s.sox.n} | ${p(s.sox)} | ${p(s.spawnBlock, 3)} | ${s.mediaFetch.n} | ${p(s.mediaFetch)} |`);
  }
  out.push('');
  out.push('## Checks (cold is cold, warm is warm)');
  out.push('');
  out.push('| check | expected | seen | ok |');
  out.push('|---|---|---:|---|');
  for (const c of r.checks) out.push(`| ${c.name} | ${c.expected} | ${c.seen} | ${c.ok ? 'yes' : '**no**'} |`);
  out.push('');
  if (svgs.length > 0) {
    out.push('## Plots');
    out.push('');
    for (const s of svgs) out.push(`![${s}](${s})`);
    out.push('');
  }
  if (r.notes.length > 0) {
    out.push('## Notes');
    out.push('');
    for (const n of r.notes) out.push(`- ${n}`);
    out.push('');
  }
  out.push('## Host');
  out.push('');
  out.push(`${r.host.cpus} CPUs, Node ${r.host.node}. 1-minute load average ${r.host.loadavg1mAtStart} at start, ${r.host.loadavg1mAtEnd} at end.`);
  out.push('The node, rtpengines, Redis, espeak-ng/sox and the caller share the machine; compare cases with the baselines of the same run.');
  out.push('');
  return out.join('\n');
}
