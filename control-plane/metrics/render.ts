/**
 * /metrics body: every signaling node's NodeMetricsSnapshot in Redis (published
 * by regions/store/node-metrics.ts), plus what the control-plane process itself
 * counts (API requests, webhooks it sends), as Prometheus text. All series
 * carry `region` and `node`. Snapshots older than the stale limit are skipped:
 * a node that stopped publishing must not report frozen numbers.
 */
import type { Redis } from 'ioredis';
import { readSnapshots, type SnapshotReadOptions } from '../../regions/store/node-metrics.js';
import type { NodeMetricsSnapshot } from '../../regions/store/schema.js';
import { parsePromFamilies, type PromFamily } from '../../regions/core/metrics.js';
import { MetricsWriter } from './exposition.js';

export { DEFAULT_STALE_MS, MAX_NODES, parseSnapshot, readSnapshots } from '../../regions/store/node-metrics.js';

/**
 * Most label values per SIP counter family and node. The node's keys are
 * closed sets (6 drop reasons, a handful of statuses); this caps what a
 * hand-edited or hostile snapshot could add to the scrape.
 */
export const MAX_SIP_LABEL_VALUES = 16;
const SIP_REASON = /^[a-z][a-z-]{0,31}$/;
const SIP_STATUS = /^[1-6][0-9]{2}$/;

export interface ApiRequestCount {
  /** Which API: `tenant`, `operator`, … */
  api: string;
  method: string;
  status: number;
  count: number;
}

export interface WebhookStats {
  requests: number;
  failures: number;
  latencySumMs: number;
}

/** Series of the control-plane process itself. */
export interface ExtraMetrics {
  /** Region and node labels of these series. Default region `global`, node `control-plane`. */
  region?: string;
  node?: string;
  apiRequests?: readonly ApiRequestCount[];
  webhook?: WebhookStats;
  /** The API's configured limits (rate, burst, body size, failed-authentication throttle), as `mesh_api_limit{limit}`. */
  limits?: Readonly<Record<string, number>>;
  /** The control-plane process's own prom-client families (process metrics). */
  prom?: readonly PromFamily[];
}

export type RenderOptions = SnapshotReadOptions;

/** Bucket keys are upper bounds in ms (`"5"`, `"2.5"`); `+Inf` is dropped here because the writer derives it from count. */
function bucketsInSeconds(buckets: Record<string, number>): [number, number][] {
  const out: [number, number][] = [];
  for (const [le, n] of Object.entries(buckets)) {
    const ms = Number(le);
    if (le.trim() === '' || !Number.isFinite(ms)) continue;
    out.push([ms / 1000, n]);
  }
  return out;
}

function declareFamilies(w: MetricsWriter): void {
  w.family('mesh_active_calls', 'gauge', 'Calls currently up on the node.');
  w.family('mesh_call_attempts_total', 'counter', 'Call attempts (INVITEs accepted for processing).');
  w.family('mesh_call_failures_total', 'counter', 'Calls that ended with a final failure, by SIP status (cause).');
  w.family('mesh_placement_decisions_total', 'counter', 'Media placement decisions, by outcome.');
  w.family('mesh_ng_command_duration_seconds', 'histogram', 'Latency of rtpengine ng commands, by media node.');
  w.family('mesh_webhook_requests_total', 'counter', 'HTTP requests to tenant application servers and status callbacks.');
  w.family('mesh_webhook_failures_total', 'counter', 'Webhook requests that failed (network error, timeout or 5xx).');
  w.family('mesh_webhook_duration_seconds', 'summary', 'Latency of webhook requests.');
  w.family('mesh_api_requests_total', 'counter', 'HTTP API requests served, by API, method and status.');
  w.family('mesh_api_limit', 'gauge', 'Configured limits of the HTTP API (requests per second, burst, body bytes, failed authentications per address / account per window).');
  w.family('mesh_metrics_snapshot_age_seconds', 'gauge', 'Age of the node metrics snapshot at scrape time.');
  w.family('mesh_sip_dropped_total', 'counter', 'SIP input the node discarded without an answer, by reason.');
  w.family('mesh_sip_rejected_total', 'counter', 'SIP requests the stack refused itself (stateless 400/505/513, 416/420 of RFC 3261 8.2.2, 503 when full), by status.');
  w.family('mesh_sip_oversized_total', 'counter', 'SIP messages over the size limit.');
  w.family('mesh_sip_transactions', 'gauge', 'SIP transactions now, by state: active (bounded by sip.maxTransactions) or lingering after their final response to absorb retransmissions.');
  w.family('mesh_sip_transactions_limit', 'gauge', 'Most active SIP transactions (sip.maxTransactions); new requests beyond get 503.');
  w.family('mesh_sip_refused_stateless_total', 'counter', 'New INVITEs refused with 503 before any transaction existed (shutting down, drained, admission control): one response, no state, no timers.');
  w.family('mesh_bye_retries_total', 'counter', 'BYEs sent again because the previous one got no answer (timeout or transport error), e.g. across a cut region link.');
  w.family('mesh_bye_answered_after_retry_total', 'counter', 'BYEs answered only after being sent again.');
  w.family('mesh_bye_given_up_total', 'counter', 'BYEs never answered and no longer sent (retry window over, too many waiting, or shutdown): the peer may keep its half of the call.');
  w.family('mesh_byes_awaiting_retry', 'gauge', 'BYEs waiting for their next try.');
  w.family('mesh_redis_writes_total', 'counter', 'Redis writes of the node (call state, placement traces), sent in one socket write per batch window.');
  w.family('mesh_redis_write_failures_total', 'counter', 'Redis writes whose batch failed or got no answer within the timeout: that state is missing from Redis until the next write.');
  w.family('mesh_redis_write_batch_ms', 'gauge', 'How long the node gathers Redis writes before sending them.');
  w.family('mesh_redis_write_timeout_ms', 'gauge', 'The most a batch of Redis writes waits for an answer.');
  w.family('mesh_admission_limit', 'gauge', 'Configured admission limits of new calls (0 = check off): maxEventLoopDelayMs, maxInvitesInFlight, minFreeMediaPorts, targetEventLoopUtilization.');
  w.family('mesh_admission_admit_share', 'gauge', 'Share of new INVITEs the admission throttle admits now (1 = all; shrinks while the event loop is busier than its target).');
  w.family('mesh_event_loop_utilization', 'gauge', 'Share of the last sample window the signaling node\'s event loop was busy (0..1).');
  w.family('mesh_admission_refused_total', 'counter', 'New calls refused with 503 by admission control, by reason.');
  w.family('mesh_invites_in_flight', 'gauge', 'INVITE transactions waiting for their final response.');
  w.family('mesh_event_loop_delay_seconds', 'gauge', 'p99 event-loop delay of the signaling node over its last sample window.');
  w.family('mesh_media_free_ports', 'gauge', 'Estimated free RTP ports on the media nodes that take new calls.');
  w.family('mesh_ws_max_connections', 'gauge', 'Configured limit of SIP-over-WebSocket connections (sip.websocket.maxConnections).');
  w.family('mesh_ws_connections', 'gauge', 'Open SIP-over-WebSocket connections.');
  w.family('mesh_ws_refused_total', 'counter', 'WebSocket connections refused, by reason (limit, handshake, timeout).');
  w.family('mesh_client_bindings', 'gauge', 'Client registrations held by the node\'s WebSocket connections.');
  w.family('mesh_client_registrations_total', 'counter', 'Client registrations added or refreshed.');
  w.family('mesh_client_unregistrations_total', 'counter', 'Client registrations removed, by cause (expires0, connection-closed).');
  w.family('mesh_client_register_refused_total', 'counter', 'Client REGISTERs refused, by SIP status.');
}

function writeWebsocket(w: MetricsWriter, labels: Record<string, string>, ws: NonNullable<NodeMetricsSnapshot['websocket']>): void {
  w.sample('mesh_ws_max_connections', labels, ws.maxConnections);
  w.sample('mesh_ws_connections', labels, ws.connections);
  for (const [reason, n] of boundedEntries(ws.refused, SIP_REASON)) w.sample('mesh_ws_refused_total', { ...labels, reason }, n);
  w.sample('mesh_client_bindings', labels, ws.bindings);
  w.sample('mesh_client_registrations_total', labels, ws.registered);
  w.sample('mesh_client_unregistrations_total', { ...labels, cause: 'expires0' }, ws.unregistered);
  w.sample('mesh_client_unregistrations_total', { ...labels, cause: 'connection-closed' }, ws.connectionClosed);
  for (const [status, n] of boundedEntries(ws.registerRefused, SIP_STATUS)) w.sample('mesh_client_register_refused_total', { ...labels, status }, n);
}

/**
 * prom-client families of one node (histograms, process metrics), with the
 * node's `region` and `node` labels put first (a label of the same name the
 * node sent is replaced). A family whose name the hand-written families
 * already use, or that another node declared with another type, is skipped:
 * each family is written once, with one type.
 */
function writePromFamilies(w: MetricsWriter, handWritten: ReadonlySet<string>, labels: Record<string, string>, families: readonly PromFamily[]): void {
  for (const f of families) {
    if (handWritten.has(f.name)) continue;
    try {
      w.family(f.name, f.type, f.help);
    } catch {
      continue;
    }
    for (const v of f.values) {
      const own: Record<string, string> = {};
      for (const [k, lv] of Object.entries(v.labels)) if (k !== 'region' && k !== 'node') own[k] = String(lv);
      w.sample(f.name, { ...labels, ...own }, v.value, (v.metricName ?? f.name).slice(f.name.length));
    }
  }
}

function writeAdmission(w: MetricsWriter, labels: Record<string, string>, a: NonNullable<NodeMetricsSnapshot['admission']>): void {
  for (const [limit, value] of boundedEntries(a.limits, /^[A-Za-z]{1,32}$/)) w.sample('mesh_admission_limit', { ...labels, limit }, value);
  for (const [reason, n] of boundedEntries(a.refused, SIP_REASON)) w.sample('mesh_admission_refused_total', { ...labels, reason }, n);
  w.sample('mesh_invites_in_flight', labels, a.invitesInFlight);
  w.sample('mesh_event_loop_delay_seconds', labels, a.eventLoopDelayMs / 1000);
  if (a.eventLoopUtilization !== undefined) w.sample('mesh_event_loop_utilization', labels, a.eventLoopUtilization);
  if (a.admitShare !== undefined) w.sample('mesh_admission_admit_share', labels, a.admitShare);
  if (a.freeMediaPorts !== undefined) w.sample('mesh_media_free_ports', labels, a.freeMediaPorts);
}

/** Only well-formed keys, sorted, at most MAX_SIP_LABEL_VALUES of them: label cardinality stays bounded. */
function boundedEntries(rec: Record<string, number>, key: RegExp): [string, number][] {
  return Object.entries(rec)
    .filter(([k]) => key.test(k))
    .sort(([a], [b]) => a.localeCompare(b))
    .slice(0, MAX_SIP_LABEL_VALUES);
}

function writeSip(w: MetricsWriter, labels: Record<string, string>, sip: NonNullable<NodeMetricsSnapshot['sip']>): void {
  for (const [reason, n] of boundedEntries(sip.dropped, SIP_REASON)) w.sample('mesh_sip_dropped_total', { ...labels, reason }, n);
  for (const [status, n] of boundedEntries(sip.rejected, SIP_STATUS)) w.sample('mesh_sip_rejected_total', { ...labels, status }, n);
  w.sample('mesh_sip_oversized_total', labels, sip.oversized);
  w.sample('mesh_sip_refused_stateless_total', labels, sip.refusedStateless ?? 0);
  if (sip.transactions !== undefined) {
    w.sample('mesh_sip_transactions', { ...labels, state: 'active' }, sip.transactions.active);
    w.sample('mesh_sip_transactions', { ...labels, state: 'lingering' }, sip.transactions.lingering);
    w.sample('mesh_sip_transactions_limit', labels, sip.transactions.limit);
  }
}

function writeWebhook(w: MetricsWriter, labels: Record<string, string>, s: WebhookStats): void {
  w.sample('mesh_webhook_requests_total', labels, s.requests);
  w.sample('mesh_webhook_failures_total', labels, s.failures);
  w.sample('mesh_webhook_duration_seconds', labels, s.latencySumMs / 1000, '_sum');
  w.sample('mesh_webhook_duration_seconds', labels, s.requests, '_count');
}

export function renderSnapshots(
  snapshots: readonly NodeMetricsSnapshot[],
  extra: ExtraMetrics | undefined,
  now: number,
): string {
  const w = new MetricsWriter();
  declareFamilies(w);
  const handWritten = new Set(w.familyNames());
  const sorted = [...snapshots].sort((a, b) => a.region.localeCompare(b.region) || a.nodeId.localeCompare(b.nodeId));
  for (const s of sorted) {
    const labels = { region: s.region, node: s.nodeId };
    w.sample('mesh_active_calls', labels, s.activeCalls);
    w.sample('mesh_call_attempts_total', labels, s.callAttempts);
    for (const [cause, n] of Object.entries(s.callFailures).sort()) w.sample('mesh_call_failures_total', { ...labels, cause }, n);
    for (const [outcome, n] of Object.entries(s.placements).sort()) {
      w.sample('mesh_placement_decisions_total', { ...labels, outcome }, n);
    }
    for (const [mediaNode, h] of Object.entries(s.ngLatency).sort(([a], [b]) => a.localeCompare(b))) {
      w.histogram('mesh_ng_command_duration_seconds', { ...labels, media_node: mediaNode }, bucketsInSeconds(h.buckets), h.sumMs / 1000, h.count);
    }
    writeWebhook(w, labels, s.webhook);
    if (s.sip !== undefined) writeSip(w, labels, s.sip);
    if (s.byes !== undefined) {
      w.sample('mesh_bye_retries_total', labels, s.byes.retried);
      w.sample('mesh_bye_answered_after_retry_total', labels, s.byes.answeredAfterRetry);
      w.sample('mesh_bye_given_up_total', labels, s.byes.gaveUp);
      w.sample('mesh_byes_awaiting_retry', labels, s.byes.pending);
    }
    if (s.redisWrites !== undefined) {
      w.sample('mesh_redis_writes_total', labels, s.redisWrites.sent);
      w.sample('mesh_redis_write_failures_total', labels, s.redisWrites.failed);
      w.sample('mesh_redis_write_batch_ms', labels, s.redisWrites.batchMs);
      w.sample('mesh_redis_write_timeout_ms', labels, s.redisWrites.timeoutMs);
    }
    if (s.admission !== undefined) writeAdmission(w, labels, s.admission);
    if (s.websocket !== undefined) writeWebsocket(w, labels, s.websocket);
    w.sample('mesh_metrics_snapshot_age_seconds', labels, Math.max(0, now - s.at) / 1000);
  }
  for (const s of sorted) if (s.prom !== undefined) writePromFamilies(w, handWritten, { region: s.region, node: s.nodeId }, s.prom);
  if (extra !== undefined) {
    const labels = { region: extra.region ?? 'global', node: extra.node ?? 'control-plane' };
    if (extra.webhook !== undefined) writeWebhook(w, labels, extra.webhook);
    for (const r of extra.apiRequests ?? []) {
      w.sample('mesh_api_requests_total', { ...labels, api: r.api, method: r.method, status: String(r.status) }, r.count);
    }
    for (const [limit, value] of Object.entries(extra.limits ?? {}).sort(([a], [b]) => a.localeCompare(b))) {
      w.sample('mesh_api_limit', { ...labels, limit }, value);
    }
    if (extra.prom !== undefined) writePromFamilies(w, handWritten, labels, parsePromFamilies(extra.prom));
  }
  return w.render();
}

/** Prometheus text for every fresh snapshot in Redis plus the control plane's own series. */
export async function renderMetrics(
  redis: Redis,
  keyPrefix: string,
  extra?: ExtraMetrics,
  opts: RenderOptions = {},
): Promise<string> {
  const snapshots = await readSnapshots(redis, keyPrefix, opts);
  return renderSnapshots(snapshots, extra, (opts.now ?? Date.now)());
}
