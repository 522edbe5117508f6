import { describe, expect, it } from 'vitest';
import { NodeLatencyMetrics, parsePromFamilies, PROM_LIMITS } from '../../../../regions/core/metrics.js';

describe('NodeLatencyMetrics (prom-client)', () => {
  it('observes INVITE→200 and webhook latencies in ms into histograms in seconds', async () => {
    const m = new NodeLatencyMetrics(false);
    m.observeInviteAnswer(3);
    m.observeInviteAnswer(40);
    m.observeInviteAnswer(Number.NaN); // ignored
    m.observeWebhook('instructions', true, 120);
    m.observeWebhook('status-callback', false, 6000);
    const fams = await m.families();
    expect(fams.map((f) => f.name).sort()).toEqual(['mesh_invite_answer_duration_seconds', 'mesh_webhook_fetch_duration_seconds']);
    const invite = fams.find((f) => f.name === 'mesh_invite_answer_duration_seconds')!;
    expect(invite.type).toBe('histogram');
    const bucket = (le: number | string) => invite.values.find((v) => v.metricName?.endsWith('_bucket') && v.labels.le === le)?.value;
    expect(bucket(0.005)).toBe(1);
    expect(bucket(0.05)).toBe(2);
    expect(bucket('+Inf')).toBe(2);
    expect(invite.values.find((v) => v.metricName?.endsWith('_sum'))?.value).toBeCloseTo(0.043, 6);
    const webhook = fams.find((f) => f.name === 'mesh_webhook_fetch_duration_seconds')!;
    const count = (kind: string, outcome: string) =>
      webhook.values.find((v) => v.metricName?.endsWith('_count') && v.labels.kind === kind && v.labels.outcome === outcome)?.value;
    expect(count('instructions', 'ok')).toBe(1);
    expect(count('status-callback', 'failed')).toBe(1);
  });

  it('adds the process metrics (CPU, memory, event-loop delay, GC) unless told not to', async () => {
    const names = (await new NodeLatencyMetrics().families()).map((f) => f.name);
    for (const n of ['process_cpu_user_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_p99_seconds', 'nodejs_heap_size_used_bytes']) {
      expect(names).toContain(n);
    }
  });
});

describe('parsePromFamilies (what a stored snapshot may carry)', () => {
  const good = { name: 'x_seconds', help: 'h', type: 'histogram', values: [{ metricName: 'x_seconds_bucket', labels: { le: 0.1 }, value: 1 }, { metricName: 'x_seconds_bucket', labels: { le: '+Inf' }, value: 2 }] };

  it('keeps well-formed families and turns label values into strings', async () => {
    const [f] = parsePromFamilies(JSON.parse(JSON.stringify([good])));
    expect(f?.values.map((v) => v.labels.le)).toEqual(['0.1', '+Inf']);
  });

  it('drops a malformed family whole and keeps the others', () => {
    const bad = [
      'not an object',
      { ...good, name: 'bad name' },
      { ...good, type: 'untyped' },
      { ...good, values: [{ metricName: 'other_metric', labels: {}, value: 1 }] },
      { ...good, values: [{ labels: { 'bad-label': 'x' }, value: 1 }] },
      { ...good, values: [{ labels: { l: 'x'.repeat(PROM_LIMITS.labelValueChars + 1) }, value: 1 }] },
      { ...good, values: [{ labels: {}, value: '1' }] },
      { ...good, values: new Array(PROM_LIMITS.valuesPerFamily + 1).fill({ labels: {}, value: 1 }) },
      good,
    ];
    expect(parsePromFamilies(bad).map((f) => f.name)).toEqual(['x_seconds']);
    expect(parsePromFamilies({ not: 'an array' })).toEqual([]);
  });

  it('keeps at most PROM_LIMITS.families families', () => {
    const many = Array.from({ length: PROM_LIMITS.families + 20 }, (_, i) => ({ ...good, name: `f${i}` , values: [] }));
    expect(parsePromFamilies(many)).toHaveLength(PROM_LIMITS.families);
  });
});
