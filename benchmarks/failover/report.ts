/** The failover drill's report: its JSON shape and the Markdown summary. */
import { percentile, round } from '../lib/stats.js';

export interface MediaDrill {
  victim: string;
  survivor: string;
  /** Answered calls on the victim when it was killed. */
  callsOnVictim: number;
  /** Of those, calls with enough audio left to see it resume (the gap is measured on these). */
  measured: number;
  /** Kill → the node reported unhealthy (the signaling node's log), ms. */
  detectionMs: number | undefined;
  /** Per moved call: kill → packets from both parties seen on the survivor, ms. */
  gapsMs: number[];
  /** Calls on the victim that never resumed within the wait. */
  notResumed: number;
  /** Of the calls on the victim, those that did not end with the caller's BYE. */
  lost: number;
}

export interface SignalingDrill {
  leaseTtlMs: number;
  /** Answered calls when the active was killed. */
  establishedAtKill: number;
  /** Kill → the standby took the lease (it saw the active gone), ms. */
  detectionMs: number | undefined;
  /** Kill → the standby serves the address with the calls adopted, ms. */
  recoveryMs: number | undefined;
  adopted: number | undefined;
  /** Calls still sending audio at the kill, and how many of them rtpengine kept relaying during the takeover. */
  mediaSampledCalls: number;
  mediaFlowingCalls: number;
  /** Of the established calls, those that did not end with the caller's BYE. */
  lost: number;
}

export interface FailoverReport {
  generatedAt: string;
  machine: { cpus: number; loadavg: number[] };
  load: {
    ratePerSecond: number;
    concurrentLimit: number;
    calls: number;
    successful: number;
    failed: number;
    /** Calls SIPp aborted on an unexpected message, by what it expected and what came (e.g. a 481 to its BYE). */
    unexpected?: Record<string, number>;
  };
  media: MediaDrill;
  signaling: SignalingDrill;
  notes: string[];
}

export function summarizeGaps(gaps: readonly number[]): { p50: number | undefined; max: number | undefined } {
  return { p50: round(percentile(gaps, 50), 0), max: gaps.length === 0 ? undefined : Math.max(...gaps) };
}

/** ` (unexpected: 2 × expected 200, got 481 (BYE))`, or nothing. */
function failedCauses(unexpected: Record<string, number> | undefined): string {
  const parts = Object.entries(unexpected ?? {}).map(([k, n]) => `${n} × ${k}`);
  return parts.length === 0 ? '' : ` (unexpected: ${parts.join('; ')})`;
}

const ms = (v: number | undefined): string => (v === undefined ? 'n/a' : `${v} ms`);

export function renderMarkdown(r: FailoverReport): string {
  const g = summarizeGaps(r.media.gapsMs);
  return [
    '# Failover drill',
    '',
    `Generated ${r.generatedAt} on ${r.machine.cpus} CPUs (load ${r.machine.loadavg.map((l) => l.toFixed(2)).join(' ')}).`,
    'One region on loopback: two rtpengine media nodes, an active signaling node and a standby (`node-main --standby`),',
    'Redis, SIPp caller (G.711 pcap, accepts re-INVITEs) and callee (echo). `npx tsx benchmarks/failover/run.ts`.',
    '',
    `Load: ${r.load.ratePerSecond} calls/s, at most ${r.load.concurrentLimit} at once, ${r.load.calls} calls;`,
    `SIPp: ${r.load.successful} successful, ${r.load.failed} failed${failedCauses(r.load.unexpected)}.`,
    '',
    '## Media node killed (SIGKILL of the rtpengine carrying calls)',
    '',
    '| figure | value |',
    '|---|---|',
    `| answered calls on the killed node | ${r.media.callsOnVictim} (gap measured on the ${r.media.measured} with ≥ 2 s of audio left) |`,
    `| detection (kill → node reported unhealthy) | ${ms(r.media.detectionMs)} |`,
    `| media gap p50 (kill → both parties' RTP on the new node) | ${ms(g.p50)} |`,
    `| media gap max | ${ms(g.max)} |`,
    `| calls that did not resume | ${r.media.notResumed} |`,
    `| established calls lost | ${r.media.lost} |`,
    '',
    '## Signaling node killed (SIGKILL of the active process, standby running)',
    '',
    '| figure | value |',
    '|---|---|',
    `| lease TTL | ${r.signaling.leaseTtlMs} ms |`,
    `| answered calls at the kill | ${r.signaling.establishedAtKill} |`,
    `| detection (kill → standby took the lease) | ${ms(r.signaling.detectionMs)} |`,
    `| recovery (kill → standby serving, calls adopted) | ${ms(r.signaling.recoveryMs)} |`,
    `| calls adopted | ${r.signaling.adopted ?? 'n/a'} |`,
    `| calls whose RTP kept flowing through the takeover | ${r.signaling.mediaFlowingCalls} of ${r.signaling.mediaSampledCalls} still sending audio |`,
    `| established calls lost | ${r.signaling.lost} |`,
    '',
    ...(r.notes.length > 0 ? ['## Notes', '', ...r.notes.map((n) => `- ${n}`), ''] : []),
  ].join('\n');
}
