import { describe, expect, it } from 'vitest';
import { parseSnapshot, renderSnapshots } from '../../../../control-plane/metrics/render.js';
import { NodeLatencyMetrics, processFamilies, type PromFamily } from '../../../../regions/core/metrics.js';
import type { NodeMetricsSnapshot } from '../../../../regions/store/schema.js';
import { parsePrometheus, valueOf } from './prom-parser.js';

const NOW = 1_700_000_000_000;

function snap(nodeId: string, prom: PromFamily[]): NodeMetricsSnapshot {
  return {
    nodeId, region: 'us-east', at: NOW - 1000, activeCalls: 1, callAttempts: 2, callFailures: {}, ngLatency: {},
    webhook: { requests: 0, failures: 0, latencySumMs: 0 }, placements: {}, prom,
  };
}

/** Through JSON and parseSnapshot, as the control plane reads it from Redis. */
const stored = (s: NodeMetricsSnapshot): NodeMetricsSnapshot => parseSnapshot(JSON.stringify(s))!;

describe('prom-client families in /metrics', () => {
  it('renders each node\'s INVITE→200 histogram with its region and node labels, cumulative buckets and +Inf = count', async () => {
    const a = new NodeLatencyMetrics(false);
    const b = new NodeLatencyMetrics(false);
    for (const ms of [2, 8, 30, 700]) a.observeInviteAnswer(ms);
    b.observeInviteAnswer(15);
    const text = renderSnapshots([stored(snap('sig-1', await a.families())), stored(snap('sig-2', await b.families()))], undefined, NOW);
    const f = parsePrometheus(text);
    const h = 'mesh_invite_answer_duration_seconds';
    expect(f.get(h)?.type).toBe('histogram');
    const l1 = { region: 'us-east', node: 'sig-1' };
    expect(valueOf(f, h, `${h}_bucket`, { ...l1, le: '0.005' })).toBe(1);
    expect(valueOf(f, h, `${h}_bucket`, { ...l1, le: '0.01' })).toBe(2);
    expect(valueOf(f, h, `${h}_bucket`, { ...l1, le: '0.05' })).toBe(3);
    expect(valueOf(f, h, `${h}_bucket`, { ...l1, le: '1' })).toBe(4);
    expect(valueOf(f, h, `${h}_bucket`, { ...l1, le: '+Inf' })).toBe(4);
    expect(valueOf(f, h, `${h}_count`, l1)).toBe(4);
    expect(valueOf(f, h, `${h}_sum`, l1)).toBeCloseTo(0.74, 6);
    expect(valueOf(f, h, `${h}_count`, { region: 'us-east', node: 'sig-2' })).toBe(1);
    // The hand-written families are unchanged beside them.
    expect(valueOf(f, 'mesh_active_calls', 'mesh_active_calls', l1)).toBe(1);
  });

  it('renders the process metrics of nodes and of the control plane, each under its labels', async () => {
    const text = renderSnapshots([stored(snap('sig-1', await processFamilies()))], { prom: await processFamilies() }, NOW);
    const f = parsePrometheus(text);
    const cpu = f.get('process_cpu_user_seconds_total');
    expect(cpu?.type).toBe('counter');
    expect(cpu?.samples.map((s) => s.labels.node).sort()).toEqual(['control-plane', 'sig-1']);
    expect(f.get('nodejs_eventloop_lag_p99_seconds')?.type).toBe('gauge');
    expect(f.get('nodejs_gc_duration_seconds')?.type).toBe('histogram');
  });

  it('a node cannot take over a hand-written family, relabel itself, or declare a family twice with two types', () => {
    const hostile: PromFamily[] = [
      { name: 'mesh_active_calls', help: 'fake', type: 'counter', values: [{ labels: {}, value: 999 }] },
      { name: 'x_total', help: 'x', type: 'counter', values: [{ labels: { region: 'eu-west', node: 'other' }, value: 5 }] },
    ];
    const other: PromFamily[] = [{ name: 'x_total', help: 'x', type: 'gauge', values: [{ labels: {}, value: 1 }] }];
    const f = parsePrometheus(renderSnapshots([stored(snap('sig-1', hostile)), stored(snap('sig-2', other))], undefined, NOW));
    expect(f.get('mesh_active_calls')?.type).toBe('gauge');
    expect(f.get('mesh_active_calls')?.samples.map((s) => s.value)).toEqual([1, 1]);
    expect(f.get('x_total')?.samples).toEqual([expect.objectContaining({ labels: { region: 'us-east', node: 'sig-1' }, value: 5 })]);
  });

  it('a snapshot without prom (older node) renders as before', () => {
    const s = snap('sig-1', []);
    delete s.prom;
    const f = parsePrometheus(renderSnapshots([stored(s)], undefined, NOW));
    expect(f.has('mesh_invite_answer_duration_seconds')).toBe(false);
    expect(f.has('mesh_active_calls')).toBe(true);
  });
});
