/** Summary, aims and Markdown of the media-routing benchmark. */
import type { CaseName } from './paths.js';

export interface Dist {
  p50: number | undefined;
  p99: number | undefined;
  p999: number | undefined;
  max: number | undefined;
}

export interface RunResult {
  case: CaseName;
  streams: number;
  latencyMs: Dist;
  /** RFC 3550 §6.4.1 interarrival jitter, sampled per packet. */
  jitterMs: Dist;
  sent: number;
  received: number;
  lossPct: number;
  relayDrops?: Record<string, number>;
}

export interface MediaRoutingReport {
  benchmark: 'media-routing';
  generatedAt: string;
  quick: boolean;
  host: { cpus: number; node: string; rtpengine: string; loadavg1mAtStart: number; loadavg1mAtEnd: number };
  settings: { packetMs: number; warmupMs: number; measureMs: number; rounds: number; linkDelayMs: number; streams: number[] };
  runs: RunResult[];
  summary: Summary;
}

export interface Summary {
  perStreams: {
    streams: number;
    /** edge p99 − direct p99. Aim: < 1 ms at 200 streams. */
    edgeOverDirectP99Ms: number | undefined;
    edgeOverDirectP50Ms: number | undefined;
    /** trombone p50 − edge p50. Aim: about 2 × the link's one-way delay. */
    tromboneMinusEdgeP50Ms: number | undefined;
    /** The saving in units of the one-way link delay (2 = twice). */
    savingInLinkDelays: number | undefined;
    remoteMinusEdgeP50Ms: number | undefined;
  }[];
  aims: { name: string; value: string; met: boolean | undefined }[];
}

const r3 = (v: number | undefined): number | undefined => (v === undefined || !Number.isFinite(v) ? undefined : Math.round(v * 1000) / 1000);
const diff = (a: number | undefined, b: number | undefined): number | undefined => (a === undefined || b === undefined ? undefined : r3(a - b));

export function summarize(runs: RunResult[], linkDelayMs: number, streams: number[]): Summary {
  const find = (c: CaseName, n: number): RunResult | undefined => runs.find((r) => r.case === c && r.streams === n);
  const perStreams = streams.map((n) => {
    const direct = find('direct', n);
    const edge = find('edge', n);
    const trombone = find('trombone', n);
    const remote = find('remote', n);
    const saving = diff(trombone?.latencyMs.p50, edge?.latencyMs.p50);
    return {
      streams: n,
      edgeOverDirectP99Ms: diff(edge?.latencyMs.p99, direct?.latencyMs.p99),
      edgeOverDirectP50Ms: diff(edge?.latencyMs.p50, direct?.latencyMs.p50),
      tromboneMinusEdgeP50Ms: saving,
      savingInLinkDelays: saving === undefined || linkDelayMs === 0 ? undefined : r3(saving / linkDelayMs),
      remoteMinusEdgeP50Ms: diff(remote?.latencyMs.p50, edge?.latencyMs.p50),
    };
  });
  const top = perStreams.find((p) => p.streams === Math.max(...streams));
  const aims: Summary['aims'] = [
    {
      name: `edge path adds < 1 ms p99 over direct loopback at ${top?.streams ?? '?'} streams`,
      value: `${top?.edgeOverDirectP99Ms ?? 'n/a'} ms`,
      met: top?.edgeOverDirectP99Ms === undefined ? undefined : top.edgeOverDirectP99Ms < 1,
    },
    {
      name: `edge saves about 2 × the link one-way delay (${linkDelayMs} ms) vs the trombone (p50), within ±10 %`,
      value: `${top?.tromboneMinusEdgeP50Ms ?? 'n/a'} ms = ${top?.savingInLinkDelays ?? 'n/a'} × link delay`,
      met: top?.savingInLinkDelays === undefined ? undefined : Math.abs(top.savingInLinkDelays - 2) <= 0.2,
    },
  ];
  return { perStreams, aims };
}

const f = (v: number | undefined, d = 3): string => (v === undefined ? 'n/a' : v.toFixed(d));

export function renderMarkdown(r: MediaRoutingReport, svgs: string[]): string {
  const lines: string[] = [];
  lines.push(`# Media routing: one-way RTP latency and jitter${r.quick ? ' (quick run)' : ''}`, '');
  lines.push(`Generated ${r.generatedAt} by \`npx tsx benchmarks/media-routing/run.ts${r.quick ? ' --quick' : ''}\`.`, '');
  lines.push('Paths (each stream is one rtpengine call, 20 ms PCMU packets, probes carry their send time):', '');
  lines.push('- **direct**: sender → receiver on loopback (baseline, same run)');
  lines.push('- **edge**: sender → edge rtpengine → receiver (media anchored in the callers\' region)');
  lines.push(`- **trombone**: sender → ${r.settings.linkDelayMs} ms link → home rtpengine → ${r.settings.linkDelayMs} ms link → receiver`);
  lines.push(`- **remote**: sender → edge rtpengine → ${r.settings.linkDelayMs} ms link → remote rtpengine → ${r.settings.linkDelayMs} ms link → receiver`, '');
  lines.push(`${r.settings.measureMs} ms measured per case, in ${r.settings.rounds} round(s) with the cases interleaved (each round: fresh calls and links, ${r.settings.warmupMs} ms warm-up). Links are user-space UDP delay relays (\`regions/link/udp-delay-relay.ts\`).`, '');
  lines.push('## Aims', '', '| aim | value | met |', '|---|---|---|');
  for (const a of r.summary.aims) lines.push(`| ${a.name} | ${a.value} | ${a.met === undefined ? 'n/a' : a.met ? 'yes' : 'no'} |`);
  lines.push('', '## Results (ms)', '', '| streams | path | latency p50 | p99 | p99.9 | max | jitter p50 | jitter p99 | sent | received | loss % |', '|---|---|---|---|---|---|---|---|---|---|---|');
  for (const x of r.runs) {
    lines.push(`| ${x.streams} | ${x.case} | ${f(x.latencyMs.p50)} | ${f(x.latencyMs.p99)} | ${f(x.latencyMs.p999)} | ${f(x.latencyMs.max)} | ${f(x.jitterMs.p50)} | ${f(x.jitterMs.p99)} | ${x.sent} | ${x.received} | ${x.lossPct.toFixed(3)} |`);
  }
  lines.push('', '## Differences (ms)', '', '| streams | edge − direct p50 | edge − direct p99 | trombone − edge p50 | saving ÷ link delay | remote − edge p50 |', '|---|---|---|---|---|---|');
  for (const p of r.summary.perStreams) {
    lines.push(`| ${p.streams} | ${f(p.edgeOverDirectP50Ms)} | ${f(p.edgeOverDirectP99Ms)} | ${f(p.tromboneMinusEdgeP50Ms)} | ${f(p.savingInLinkDelays, 2)} | ${f(p.remoteMinusEdgeP50Ms)} |`);
  }
  lines.push('', '## Plots', '');
  for (const s of svgs) lines.push(`![${s}](${s})`);
  lines.push('', '## Host', '');
  lines.push(`${r.host.cpus} CPUs, Node ${r.host.node}, rtpengine ${r.host.rtpengine}. 1-minute load average ${r.host.loadavg1mAtStart} at start, ${r.host.loadavg1mAtEnd} at end.`);
  lines.push('Sender, links (one worker thread each), receiver and the rtpengines share the machine, so the absolute figures include scheduling noise of a busy 2-core host; the direct baseline in the same run carries the same noise.');
  lines.push('The link relays fire on Node timers (1 ms granularity), so a link adds its configured delay plus up to about 1 ms.', '');
  return lines.join('\n');
}
