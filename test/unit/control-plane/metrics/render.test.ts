import { describe, expect, it } from 'vitest';
import { Hono } from 'hono';
import { ApiRequestCounter, MAX_SERIES } from '../../../../control-plane/metrics/api-requests.js';
import { MAX_SIP_LABEL_VALUES, parseSnapshot, renderSnapshots } from '../../../../control-plane/metrics/render.js';
import type { NodeMetricsSnapshot } from '../../../../regions/store/schema.js';
import { parsePrometheus, valueOf } from './prom-parser.js';

const NOW = 1_700_000_000_000;

function snap(over: Partial<NodeMetricsSnapshot> = {}): NodeMetricsSnapshot {
  return {
    nodeId: 'us-east-sig-1',
    region: 'us-east',
    at: NOW - 1000,
    activeCalls: 3,
    callAttempts: 10,
    callFailures: { '486': 2, '503': 1 },
    ngLatency: { 'media-1': { buckets: { '1': 1, '5': 3, '10': 4, '+Inf': 4 }, sumMs: 12.5, count: 4 } },
    webhook: { requests: 6, failures: 1, latencySumMs: 300 },
    placements: { local: 5, remote: 1 },
    ...over,
  };
}

describe('renderSnapshots', () => {
  it('renders every series with region and node labels, values converted to seconds', () => {
    const text = renderSnapshots([snap()], undefined, NOW);
    const f = parsePrometheus(text);
    const l = { region: 'us-east', node: 'us-east-sig-1' };
    expect(valueOf(f, 'mesh_active_calls', 'mesh_active_calls', l)).toBe(3);
    expect(valueOf(f, 'mesh_call_attempts_total', 'mesh_call_attempts_total', l)).toBe(10);
    expect(valueOf(f, 'mesh_call_failures_total', 'mesh_call_failures_total', { ...l, cause: '486' })).toBe(2);
    expect(valueOf(f, 'mesh_placement_decisions_total', 'mesh_placement_decisions_total', { ...l, outcome: 'remote' })).toBe(1);
    const h = 'mesh_ng_command_duration_seconds';
    const hl = { ...l, media_node: 'media-1' };
    expect(valueOf(f, h, `${h}_bucket`, { ...hl, le: '0.001' })).toBe(1);
    expect(valueOf(f, h, `${h}_bucket`, { ...hl, le: '0.005' })).toBe(3);
    expect(valueOf(f, h, `${h}_bucket`, { ...hl, le: '+Inf' })).toBe(4);
    expect(valueOf(f, h, `${h}_sum`, hl)).toBe(0.0125);
    expect(valueOf(f, h, `${h}_count`, hl)).toBe(4);
    expect(valueOf(f, 'mesh_webhook_failures_total', 'mesh_webhook_failures_total', l)).toBe(1);
    expect(valueOf(f, 'mesh_webhook_duration_seconds', 'mesh_webhook_duration_seconds_sum', l)).toBe(0.3);
    expect(valueOf(f, 'mesh_webhook_duration_seconds', 'mesh_webhook_duration_seconds_count', l)).toBe(6);
    expect(valueOf(f, 'mesh_metrics_snapshot_age_seconds', 'mesh_metrics_snapshot_age_seconds', l)).toBe(1);
    // Exactly one +Inf bucket although the snapshot carried one too.
    expect(f.get(h)?.samples.filter((s) => s.labels.le === '+Inf')).toHaveLength(1);
  });

  it('renders the WebSocket limit, connections, refusals and client registrations', () => {
    const websocket = { maxConnections: 1024, connections: 7, refused: { limit: 2, handshake: 3, timeout: 1 }, bindings: 5, registered: 9, unregistered: 2, connectionClosed: 4, registerRefused: { '401': 6, '403': 1 } };
    const f = parsePrometheus(renderSnapshots([snap({ websocket })], undefined, NOW));
    const l = { region: 'us-east', node: 'us-east-sig-1' };
    expect(valueOf(f, 'mesh_ws_max_connections', 'mesh_ws_max_connections', l)).toBe(1024);
    expect(valueOf(f, 'mesh_ws_connections', 'mesh_ws_connections', l)).toBe(7);
    expect(valueOf(f, 'mesh_ws_refused_total', 'mesh_ws_refused_total', { ...l, reason: 'handshake' })).toBe(3);
    expect(valueOf(f, 'mesh_client_bindings', 'mesh_client_bindings', l)).toBe(5);
    expect(valueOf(f, 'mesh_client_unregistrations_total', 'mesh_client_unregistrations_total', { ...l, cause: 'connection-closed' })).toBe(4);
    expect(valueOf(f, 'mesh_client_register_refused_total', 'mesh_client_register_refused_total', { ...l, status: '401' })).toBe(6);
    // A snapshot with a malformed websocket part is not rendered at all.
    expect(parseSnapshot(JSON.stringify(snap({ websocket: { ...websocket, refused: null } as never })))).toBeUndefined();
    expect(parseSnapshot(JSON.stringify(snap({ websocket })))?.websocket).toEqual(websocket);
  });

  it('adds the +Inf bucket from count when the snapshot has none', () => {
    const s = snap({ ngLatency: { m: { buckets: { '2.5': 2 }, sumMs: 3, count: 7 } } });
    const f = parsePrometheus(renderSnapshots([s], undefined, NOW));
    const h = 'mesh_ng_command_duration_seconds';
    expect(valueOf(f, h, `${h}_bucket`, { media_node: 'm', le: '0.0025' })).toBe(2);
    expect(valueOf(f, h, `${h}_bucket`, { media_node: 'm', le: '+Inf' })).toBe(7);
  });

  it('writes the control plane own series under its labels', () => {
    const text = renderSnapshots(
      [],
      {
        region: 'us-east',
        node: 'cp-1',
        apiRequests: [{ api: 'tenant', method: 'POST', status: 201, count: 4 }],
        webhook: { requests: 2, failures: 2, latencySumMs: 10 },
      },
      NOW,
    );
    const f = parsePrometheus(text);
    expect(valueOf(f, 'mesh_api_requests_total', 'mesh_api_requests_total', { node: 'cp-1', status: '201', api: 'tenant' })).toBe(4);
    expect(valueOf(f, 'mesh_webhook_failures_total', 'mesh_webhook_failures_total', { node: 'cp-1' })).toBe(2);
  });

  it('escapes hostile label values from snapshots', () => {
    const s = snap({ nodeId: 'n"1\\x\n', placements: { 'a"b': 1 } });
    const f = parsePrometheus(renderSnapshots([s], undefined, NOW));
    expect(valueOf(f, 'mesh_placement_decisions_total', 'mesh_placement_decisions_total', { node: 'n"1\\x\n', outcome: 'a"b' })).toBe(1);
  });
});

describe('SIP transport series', () => {
  const sip = { dropped: { unparseable: 4, 'not-our-response': 3, framing: 0 }, rejected: { '400': 7, '416': 2, '420': 1 }, oversized: 1 };

  it('exports drops by reason, stack rejections by status and oversized messages per node', () => {
    const f = parsePrometheus(renderSnapshots([snap({ sip })], undefined, NOW));
    const l = { region: 'us-east', node: 'us-east-sig-1' };
    expect(f.get('mesh_sip_dropped_total')?.type).toBe('counter');
    expect(valueOf(f, 'mesh_sip_dropped_total', 'mesh_sip_dropped_total', { ...l, reason: 'unparseable' })).toBe(4);
    expect(valueOf(f, 'mesh_sip_dropped_total', 'mesh_sip_dropped_total', { ...l, reason: 'not-our-response' })).toBe(3);
    expect(valueOf(f, 'mesh_sip_rejected_total', 'mesh_sip_rejected_total', { ...l, status: '416' })).toBe(2);
    expect(valueOf(f, 'mesh_sip_rejected_total', 'mesh_sip_rejected_total', { ...l, status: '420' })).toBe(1);
    expect(valueOf(f, 'mesh_sip_oversized_total', 'mesh_sip_oversized_total', l)).toBe(1);
  });

  it('keeps label cardinality bounded: malformed keys are skipped, at most MAX_SIP_LABEL_VALUES per family and node', () => {
    const many = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [String(400 + i), 1]));
    const hostile = { dropped: { 'x"y': 1, 'A B': 1, ['r'.repeat(64)]: 1, unparseable: 1 }, rejected: { ...many, '99': 1, abc: 1, '4000': 1 }, oversized: 0 };
    const f = parsePrometheus(renderSnapshots([snap({ sip: hostile })], undefined, NOW));
    expect(f.get('mesh_sip_dropped_total')?.samples.map((x) => x.labels.reason)).toEqual(['unparseable']);
    const statuses = f.get('mesh_sip_rejected_total')?.samples.map((x) => x.labels.status) ?? [];
    expect(statuses).toHaveLength(MAX_SIP_LABEL_VALUES);
    expect(statuses.every((st) => /^[1-6]\d\d$/.test(st ?? ''))).toBe(true);
  });

  it('a snapshot from an older node without the sip field still renders, without SIP samples', () => {
    const f = parsePrometheus(renderSnapshots([snap()], undefined, NOW));
    expect(f.get('mesh_sip_rejected_total')?.samples ?? []).toEqual([]);
    expect(parseSnapshot(JSON.stringify(snap()))).toBeDefined();
    expect(parseSnapshot(JSON.stringify(snap({ sip })))?.sip).toEqual(sip);
  });
});

describe('BYE retry series', () => {
  const byes = { retried: 5, gaveUp: 1, answeredAfterRetry: 3, pending: 2 };

  it('exports BYEs sent again, answered after a retry, given up, and waiting, per node', () => {
    const f = parsePrometheus(renderSnapshots([snap({ byes })], undefined, NOW));
    const l = { region: 'us-east', node: 'us-east-sig-1' };
    expect(f.get('mesh_bye_retries_total')?.type).toBe('counter');
    expect(f.get('mesh_byes_awaiting_retry')?.type).toBe('gauge');
    expect(valueOf(f, 'mesh_bye_retries_total', 'mesh_bye_retries_total', l)).toBe(5);
    expect(valueOf(f, 'mesh_bye_answered_after_retry_total', 'mesh_bye_answered_after_retry_total', l)).toBe(3);
    expect(valueOf(f, 'mesh_bye_given_up_total', 'mesh_bye_given_up_total', l)).toBe(1);
    expect(valueOf(f, 'mesh_byes_awaiting_retry', 'mesh_byes_awaiting_retry', l)).toBe(2);
    expect(parseSnapshot(JSON.stringify(snap({ byes })))?.byes).toEqual(byes);
  });

  it('a snapshot without the byes field (older node) renders without BYE samples', () => {
    const f = parsePrometheus(renderSnapshots([snap()], undefined, NOW));
    expect(f.get('mesh_bye_retries_total')?.samples ?? []).toEqual([]);
  });
});

describe('batched Redis write series', () => {
  it('exports writes sent, failed, and the batch window and timeout, per node', () => {
    const redisWrites = { sent: 120, failed: 2, batchMs: 10, timeoutMs: 500 };
    const f = parsePrometheus(renderSnapshots([snap({ redisWrites })], undefined, NOW));
    const l = { region: 'us-east', node: 'us-east-sig-1' };
    expect(f.get('mesh_redis_writes_total')?.type).toBe('counter');
    expect(valueOf(f, 'mesh_redis_writes_total', 'mesh_redis_writes_total', l)).toBe(120);
    expect(valueOf(f, 'mesh_redis_write_failures_total', 'mesh_redis_write_failures_total', l)).toBe(2);
    expect(valueOf(f, 'mesh_redis_write_batch_ms', 'mesh_redis_write_batch_ms', l)).toBe(10);
    expect(valueOf(f, 'mesh_redis_write_timeout_ms', 'mesh_redis_write_timeout_ms', l)).toBe(500);
    expect(parseSnapshot(JSON.stringify(snap({ redisWrites })))?.redisWrites).toEqual(redisWrites);
    expect(parseSnapshot(JSON.stringify(snap({ redisWrites: { ...redisWrites, failed: -1 } })))).toBeUndefined();
  });
});

describe('parseSnapshot', () => {
  it('accepts a well-formed snapshot', () => {
    expect(parseSnapshot(JSON.stringify(snap()))?.nodeId).toBe('us-east-sig-1');
  });

  it.each([
    ['not json', '{'],
    ['missing nodeId', JSON.stringify({ ...snap(), nodeId: undefined })],
    ['negative count', JSON.stringify(snap({ activeCalls: -1 }))],
    ['string failure count', JSON.stringify({ ...snap(), callFailures: { '486': 'x' } })],
    ['no webhook', JSON.stringify({ ...snap(), webhook: null })],
    ['bad histogram', JSON.stringify({ ...snap(), ngLatency: { m: { buckets: {}, sumMs: 1 } } })],
    ['array', '[]'],
    ['bad sip counters', JSON.stringify({ ...snap(), sip: { dropped: { x: -1 }, rejected: {}, oversized: 0 } })],
    ['sip without oversized', JSON.stringify({ ...snap(), sip: { dropped: {}, rejected: {} } })],
    ['byes without pending', JSON.stringify({ ...snap(), byes: { retried: 0, gaveUp: 0, answeredAfterRetry: 0 } })],
    ['negative bye count', JSON.stringify({ ...snap(), byes: { retried: -1, gaveUp: 0, answeredAfterRetry: 0, pending: 0 } })],
  ])('rejects %s', (_, raw) => {
    expect(parseSnapshot(raw)).toBeUndefined();
  });
});

describe('ApiRequestCounter', () => {
  it('counts responses by api, method and status through the middleware, errors included', async () => {
    const counter = new ApiRequestCounter();
    const app = new Hono();
    app.use('*', counter.middleware('operator'));
    app.get('/ok', (c) => c.text('ok'));
    app.get('/boom', () => {
      throw new Error('x');
    });
    await app.request('/ok');
    await app.request('/ok');
    await app.request('/boom');
    await app.request('/missing');
    const byKey = Object.fromEntries(counter.snapshot().map((e) => [`${e.method} ${e.status}`, e.count]));
    expect(byKey).toEqual({ 'GET 200': 2, 'GET 500': 1, 'GET 404': 1 });
  });

  it('bounds the number of series', () => {
    const counter = new ApiRequestCounter();
    for (let i = 0; i < MAX_SERIES + 50; i += 1) counter.record('t', 'GET', 1000 + i);
    counter.record('t', 'BREW', 200);
    const snap = counter.snapshot();
    expect(snap.length).toBeLessThanOrEqual(MAX_SERIES + 2);
    expect(snap.find((e) => e.status === 0)?.count).toBe(50);
    expect(snap.some((e) => e.method === 'OTHER')).toBe(true);
  });
});
