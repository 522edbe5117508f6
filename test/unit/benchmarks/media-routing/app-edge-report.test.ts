import { describe, expect, it } from 'vitest';
import {
  dist,
  hopsOf,
  modeFigures,
  renderAppEdgeMarkdown,
  renderAppEdgeTable,
  summarizeAppEdge,
  type AppCallSample,
  type AppEdgeReport,
} from '../../../../benchmarks/media-routing/app-edge-report.js';

const edgeCall = (over: Partial<AppCallSample> = {}): AppCallSample => ({
  mode: 'edge',
  ok: true,
  inviteToOkMs: 265,
  firstAudioMs: 0.5,
  inviteToAudioMs: 265.5,
  sessionsByNode: { 'us-east': 0, 'eu-west': 1, 'ap-south': 0 },
  echoRttMs: [0.4, 0.5, 0.6, 0.4],
  probesSent: 4,
  ...over,
});
const homeCall = (over: Partial<AppCallSample> = {}): AppCallSample => ({
  mode: 'home',
  ok: true,
  inviteToOkMs: 100,
  firstAudioMs: 0.4,
  inviteToAudioMs: 100.4,
  sessionsByNode: { 'us-east': 1, 'eu-west': 0, 'ap-south': 1 },
  echoRttMs: [82, 83, 84, 83],
  probesSent: 5,
  ...over,
});

describe('app-edge report', () => {
  it('dist: nearest-rank percentiles, empty input gives undefined', () => {
    expect(dist([3, 1, 2, 4])).toEqual({ n: 4, p50: 2, p90: 4, p99: 4, max: 4 });
    expect(dist([])).toEqual({ n: 0, p50: undefined, p90: undefined, p99: undefined, max: undefined });
  });

  it('hops are the media nodes holding at least one session', () => {
    expect(hopsOf(edgeCall())).toBe(1);
    expect(hopsOf(homeCall())).toBe(2);
    expect(hopsOf({ sessionsByNode: { a: 2, b: 0 } })).toBe(1);
    expect(hopsOf({ sessionsByNode: {} })).toBe(0);
  });

  it('modeFigures counts failed calls apart, pools probes, halves the round trip and counts probe loss', () => {
    const samples = [edgeCall(), homeCall(), homeCall({ echoRttMs: [90, 80] }), homeCall({ ok: false, error: 'INVITE answered 503 Service Unavailable', echoRttMs: [] })];
    const home = modeFigures('home', samples);
    expect(home.calls).toBe(3);
    expect(home.ok).toBe(2);
    expect(home.errors).toEqual(['INVITE answered 503 Service Unavailable']);
    expect(home.hops).toEqual({ '2': 2 });
    expect(home.maxSessionsByNode).toEqual({ 'us-east': 1, 'eu-west': 0, 'ap-south': 1 });
    expect(home.echoRttMs.n).toBe(6);
    expect(home.oneWayMs.p50).toBe(41.5);
    // 10 sent, 6 came back
    expect(home.probeLossPct).toBe(40);
    expect(modeFigures('edge', samples).hops).toEqual({ '1': 1 });
  });

  it('aims: one hop at the edge, two at home, round-trip saving against 2 × link delay', () => {
    const edge = modeFigures('edge', [edgeCall()]);
    const home = modeFigures('home', [homeCall()]);
    const s = summarizeAppEdge(edge, home, 40);
    expect(s.roundTripSavingMs).toBe(82.6);
    expect(s.roundTripSavingInLinkDelays).toBe(2.07);
    expect(s.oneWaySavingMs).toBe(41.3);
    expect(s.firstAudioHomeMinusEdgeMs).toBe(-0.1);
    expect(s.inviteToAudioHomeMinusEdgeMs).toBe(-165.1);
    expect(s.aims.map((a) => a.met)).toEqual([true, true, true]);
  });

  it('aims fail when the edge takes two hops or the saving falls short', () => {
    const edge = modeFigures('edge', [edgeCall({ sessionsByNode: { 'eu-west': 1, 'us-east': 1 }, echoRttMs: [50] })]);
    const home = modeFigures('home', [homeCall()]);
    const s = summarizeAppEdge(edge, home, 40);
    expect(s.aims[0]!.met).toBe(false);
    expect(s.aims[0]!.value).toBe('1 call(s) with 2');
    expect(s.aims[2]!.met).toBe(false);
    // within the 1 ms tolerance of the emulated links' timers
    expect(summarizeAppEdge(modeFigures('edge', [edgeCall({ echoRttMs: [0.5] })]), modeFigures('home', [homeCall({ echoRttMs: [80] })]), 40).aims[2]!.met).toBe(true);
  });

  it('no successful calls: aims are n/a, not met', () => {
    const none = modeFigures('edge', [edgeCall({ ok: false, error: 'x' })]);
    const s = summarizeAppEdge(none, modeFigures('home', []), 40);
    expect(s.aims.map((a) => a.met)).toEqual([undefined, undefined, undefined]);
    expect(s.roundTripSavingMs).toBeUndefined();
  });

  it('renders the table and the Markdown with aims, links and failures', () => {
    const samples = [edgeCall(), homeCall(), edgeCall({ ok: false, error: 'no audio after the 2xx' })];
    const modes = [modeFigures('edge', samples), modeFigures('home', samples)];
    const table = renderAppEdgeTable(modes);
    expect(table[0]).toMatch(/^\| media \| calls ok \| rtpengine hops \|/);
    expect(table[2]).toMatch(/^\| edge \| 1\/2 \| 1 \| 265\.00 \| 0\.50 \|/);
    expect(table[3]).toMatch(/^\| home \| 1\/1 \| 2 \|/);
    const report: AppEdgeReport = {
      benchmark: 'media-routing/app-edge',
      generatedAt: '2026-12-07T00:00:00.000Z',
      quick: true,
      host: { cpus: 2, node: 'v20', rtpengine: '10.5', loadavg1mAtStart: 1, loadavg1mAtEnd: 2 },
      settings: { linkDelayMs: 40, callsPerMode: 2, verb: 'say', probesPerCall: 4, regions: { home: 'us-east', edgeMode: 'eu-west', homeMode: 'ap-south' } },
      modes,
      summary: summarizeAppEdge(modes[0]!, modes[1]!, 40),
      links: [{ name: 'SIP eu-west → us-east', forwarded: 12, dropped: 0 }],
      calls: samples,
    };
    const md = renderAppEdgeMarkdown(report, 'x.svg');
    expect(md).toContain('(quick run)');
    expect(md).toContain('`<Say>` then `<Pause>`');
    expect(md).toContain('| saving on the caller → application → caller round trip ≥ 2 × link delay (40 ms), p50 | 82.6 ms = 2.07 × link delay | yes |');
    expect(md).toContain('- SIP eu-west → us-east: 12 forwarded, 0 dropped');
    expect(md).toContain('- edge: no audio after the 2xx');
    expect(md).toContain('![x.svg](x.svg)');
  });
});
