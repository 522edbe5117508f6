/**
 * Pure part of the app-edge benchmark: per-call samples in, per-mode
 * figures, the aims and Markdown out.
 */
import { percentile, round } from '../lib/stats.js';

export type AppMediaMode = 'edge' | 'home';
export const APP_MEDIA_MODES: readonly AppMediaMode[] = ['edge', 'home'];

/** One measured call. */
export interface AppCallSample {
  mode: AppMediaMode;
  ok: boolean;
  error?: string;
  /** INVITE sent → 2xx received at the caller, ms. */
  inviteToOkMs?: number;
  /** 2xx received → first RTP packet of the application's audio at the caller's socket, ms. */
  firstAudioMs?: number;
  /** INVITE sent → that first audio packet (what the caller waits in all), ms. */
  inviteToAudioMs?: number;
  /** rtpengine sessions per media node seen while the call was up (largest count of the samples). */
  sessionsByNode: Record<string, number>;
  /** Round trip caller → where the application's media leg sends the caller's audio → caller, per probe, ms. */
  echoRttMs: number[];
  probesSent: number;
}

export interface Dist {
  n: number;
  p50: number | undefined;
  p90: number | undefined;
  p99: number | undefined;
  max: number | undefined;
}

export function dist(xs: readonly number[]): Dist {
  return {
    n: xs.length,
    p50: round(percentile(xs, 50)),
    p90: round(percentile(xs, 90)),
    p99: round(percentile(xs, 99)),
    max: round(xs.length === 0 ? undefined : xs.reduce((a, b) => Math.max(a, b), -Infinity)),
  };
}

/** rtpengines holding a session of the call: the hops of the caller's RTP path. */
export function hopsOf(s: Pick<AppCallSample, 'sessionsByNode'>): number {
  return Object.values(s.sessionsByNode).filter((n) => n > 0).length;
}

export interface ModeFigures {
  mode: AppMediaMode;
  calls: number;
  ok: number;
  errors: string[];
  /** Calls by hop count, e.g. { "1": 10 }. */
  hops: Record<string, number>;
  /** Most sessions any call had on each node. */
  maxSessionsByNode: Record<string, number>;
  inviteToOkMs: Dist;
  firstAudioMs: Dist;
  inviteToAudioMs: Dist;
  /** Echo round trip over all probes of all calls. */
  echoRttMs: Dist;
  /** One way = round trip / 2 (each link delays both directions alike). */
  oneWayMs: Dist;
  probeLossPct: number;
}

export function modeFigures(mode: AppMediaMode, samples: readonly AppCallSample[]): ModeFigures {
  const mine = samples.filter((s) => s.mode === mode);
  const ok = mine.filter((s) => s.ok);
  const hops: Record<string, number> = {};
  const maxSessionsByNode: Record<string, number> = {};
  for (const s of ok) {
    const h = String(hopsOf(s));
    hops[h] = (hops[h] ?? 0) + 1;
    for (const [node, n] of Object.entries(s.sessionsByNode)) maxSessionsByNode[node] = Math.max(maxSessionsByNode[node] ?? 0, n);
  }
  const rtt = ok.flatMap((s) => s.echoRttMs);
  const sent = ok.reduce((a, s) => a + s.probesSent, 0);
  const got = ok.reduce((a, s) => a + Math.min(s.echoRttMs.length, s.probesSent), 0);
  return {
    mode,
    calls: mine.length,
    ok: ok.length,
    errors: mine.filter((s) => !s.ok).map((s) => s.error ?? 'failed'),
    hops,
    maxSessionsByNode,
    inviteToOkMs: dist(ok.flatMap((s) => (s.inviteToOkMs === undefined ? [] : [s.inviteToOkMs]))),
    firstAudioMs: dist(ok.flatMap((s) => (s.firstAudioMs === undefined ? [] : [s.firstAudioMs]))),
    inviteToAudioMs: dist(ok.flatMap((s) => (s.inviteToAudioMs === undefined ? [] : [s.inviteToAudioMs]))),
    echoRttMs: dist(rtt),
    oneWayMs: dist(rtt.map((x) => x / 2)),
    probeLossPct: sent === 0 ? 0 : (round(((sent - got) / sent) * 100, 3) ?? 0),
  };
}

export interface Aim {
  name: string;
  value: string;
  met: boolean | undefined;
}

export interface AppEdgeSummary {
  /** home echo p50 − edge echo p50: what the trombone adds to the caller → application → caller loop, ms. */
  roundTripSavingMs: number | undefined;
  /** The same in units of the one-way link delay (aim ≥ 2). */
  roundTripSavingInLinkDelays: number | undefined;
  /** home one-way p50 − edge one-way p50, ms (half the round trip saving). */
  oneWaySavingMs: number | undefined;
  /** home first audio p50 − edge first audio p50, ms. */
  firstAudioHomeMinusEdgeMs: number | undefined;
  /** home INVITE→audio p50 − edge INVITE→audio p50, ms (negative: the edge answers later). */
  inviteToAudioHomeMinusEdgeMs: number | undefined;
  aims: Aim[];
}

const diff = (a: number | undefined, b: number | undefined): number | undefined => (a === undefined || b === undefined ? undefined : round(a - b));

/**
 * Aims of issue 11: media at the edge takes one rtpengine hop (the trombone
 * two), and saves at least 2 × the one-way link delay on the caller's round
 * trip through the application's media (the trombone crosses the link twice).
 * A small tolerance (`toleranceMs`, default 1 ms: timer granularity of the
 * emulated links) keeps a saving of 79.6 ms at 40 ms links from reading as a miss.
 */
export function summarizeAppEdge(edge: ModeFigures, home: ModeFigures, linkDelayMs: number, toleranceMs = 1): AppEdgeSummary {
  const saving = diff(home.echoRttMs.p50, edge.echoRttMs.p50);
  const inDelays = saving === undefined || linkDelayMs <= 0 ? undefined : round(saving / linkDelayMs, 2);
  const allHops = (f: ModeFigures, n: number): boolean | undefined => (f.ok === 0 ? undefined : (f.hops[String(n)] ?? 0) === f.ok);
  const hopsText = (f: ModeFigures): string => Object.entries(f.hops).map(([h, c]) => `${c} call(s) with ${h}`).join(', ') || 'no calls';
  return {
    roundTripSavingMs: saving,
    roundTripSavingInLinkDelays: inDelays,
    oneWaySavingMs: diff(home.oneWayMs.p50, edge.oneWayMs.p50),
    firstAudioHomeMinusEdgeMs: diff(home.firstAudioMs.p50, edge.firstAudioMs.p50),
    inviteToAudioHomeMinusEdgeMs: diff(home.inviteToAudioMs.p50, edge.inviteToAudioMs.p50),
    aims: [
      { name: 'media at the edge: one rtpengine hop on the caller\'s RTP path, every call', value: hopsText(edge), met: allHops(edge, 1) },
      { name: 'media at home (the trombone): two rtpengine hops, every call (the comparison is the one intended)', value: hopsText(home), met: allHops(home, 2) },
      {
        name: `saving on the caller → application → caller round trip ≥ 2 × link delay (${linkDelayMs} ms), p50`,
        value: `${saving ?? 'n/a'} ms = ${inDelays ?? 'n/a'} × link delay`,
        met: saving === undefined ? undefined : saving >= 2 * linkDelayMs - toleranceMs,
      },
    ],
  };
}

export interface AppEdgeReport {
  benchmark: 'media-routing/app-edge';
  generatedAt: string;
  quick: boolean;
  host: { cpus: number; node: string; rtpengine: string; loadavg1mAtStart: number; loadavg1mAtEnd: number };
  settings: { linkDelayMs: number; callsPerMode: number; verb: 'say' | 'play'; probesPerCall: number; regions: { home: string; edgeMode: string; homeMode: string } };
  modes: ModeFigures[];
  summary: AppEdgeSummary;
  /** What each emulated link element carried over the whole run (proof the delays sat on the paths). */
  links: { name: string; forwarded: number; dropped: number }[];
  calls: AppCallSample[];
}

const f = (v: number | undefined, d = 2): string => (v === undefined ? 'n/a' : v.toFixed(d));

export function renderAppEdgeTable(modes: readonly ModeFigures[]): string[] {
  const lines = [
    '| media | calls ok | rtpengine hops | INVITE→200 p50 | first audio p50 | p90 | max | INVITE→audio p50 | echo round trip p50 | p99 | one way p50 | p99 | probe loss % |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const m of modes) {
    const hops = Object.entries(m.hops).map(([h, c]) => (Object.keys(m.hops).length === 1 ? h : `${h} (${c})`)).join(', ') || 'n/a';
    lines.push(`| ${m.mode} | ${m.ok}/${m.calls} | ${hops} | ${f(m.inviteToOkMs.p50)} | ${f(m.firstAudioMs.p50)} | ${f(m.firstAudioMs.p90)} | ${f(m.firstAudioMs.max)} | ${f(m.inviteToAudioMs.p50)} | ${f(m.echoRttMs.p50)} | ${f(m.echoRttMs.p99)} | ${f(m.oneWayMs.p50)} | ${f(m.oneWayMs.p99)} | ${m.probeLossPct.toFixed(2)} |`);
  }
  return lines;
}

export function renderAppEdgeMarkdown(r: AppEdgeReport, svg: string | undefined): string {
  const s = r.settings;
  const lines: string[] = [];
  lines.push(`# Application call entering at an edge: media at the edge vs at home${r.quick ? ' (quick run)' : ''}`, '');
  lines.push(`Generated ${r.generatedAt} by \`npx tsx benchmarks/media-routing/app-edge.ts${r.quick ? ' --quick' : ''}\`.`, '');
  lines.push(`A number homed in \`${s.regions.home}\` whose application does \`<${s.verb === 'say' ? 'Say' : 'Play'}>\` then \`<Pause>\`; ${s.callsPerMode} calls per mode, alternating, one at a time. Calls entering \`${s.regions.edgeMode}\` (mesh.applicationMedia \`edge\`) keep the application's media on that edge's rtpengine; calls entering \`${s.regions.homeMode}\` (\`home\`) are relayed by the edge's rtpengine to the home's (the trombone). Every region link delays ${s.linkDelayMs} ms one way: SIP between signaling nodes, ng from the home to an edge's rtpengine, RTP between rtpengines of different regions.`, '');
  lines.push('## Aims', '', '| aim | value | met |', '|---|---|---|');
  for (const a of r.summary.aims) lines.push(`| ${a.name} | ${a.value} | ${a.met === undefined ? 'n/a' : a.met ? 'yes' : 'no'} |`);
  lines.push('', '## Results (ms)', '', ...renderAppEdgeTable(r.modes), '');
  lines.push(`Saving with media at the edge: round trip ${f(r.summary.roundTripSavingMs)} ms (${f(r.summary.roundTripSavingInLinkDelays)} × link delay), one way ${f(r.summary.oneWaySavingMs)} ms; first audio home − edge ${f(r.summary.firstAudioHomeMinusEdgeMs)} ms; INVITE→audio home − edge ${f(r.summary.inviteToAudioHomeMinusEdgeMs)} ms.`, '');
  lines.push('Sessions per media node (most seen in one call):', '');
  for (const m of r.modes) lines.push(`- ${m.mode}: ${Object.entries(m.maxSessionsByNode).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}`);
  lines.push('', 'Datagrams carried by the emulated links over the run:', '');
  for (const l of r.links) lines.push(`- ${l.name}: ${l.forwarded} forwarded, ${l.dropped} dropped`);
  const failed = r.modes.flatMap((m) => m.errors.map((e) => `${m.mode}: ${e}`));
  if (failed.length > 0) lines.push('', 'Failed calls:', '', ...failed.map((e) => `- ${e}`));
  lines.push('', '## Definitions', '');
  lines.push('- **first audio**: the caller\'s 2xx arrival → the first RTP packet of the application\'s audio at the caller\'s RTP socket, one clock.');
  lines.push('- **INVITE→audio**: the caller\'s INVITE sent → that first audio packet (answer delay plus first audio).');
  lines.push('- **rtpengine hops**: media nodes holding a session while the call is up (ng `list` on every rtpengine during the probes; calls run one at a time, so every session is the call\'s).');
  lines.push('- **echo round trip**: after the audio, the caller sends 20 ms probes carrying their send time; the application\'s media leg sends the caller\'s audio to its platform side (rtpengine\'s discard address 127.0.0.1:9), where the benchmark echoes them back into the same leg, so each probe travels caller → the node where the application hears and speaks → caller. **one way** = round trip ÷ 2.');
  if (svg !== undefined) lines.push('', '## Plot', '', `![${svg}](${svg})`);
  lines.push('', '## Host', '');
  lines.push(`${r.host.cpus} CPUs, Node ${r.host.node}, rtpengine ${r.host.rtpengine}. 1-minute load average ${r.host.loadavg1mAtStart} at start, ${r.host.loadavg1mAtEnd} at end. Signaling nodes, links, caller and echo share one Node process; link delays fire on Node timers (up to ~1 ms late).`, '');
  return lines.join('\n');
}
