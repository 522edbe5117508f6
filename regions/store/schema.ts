/**
 * Record shapes the control plane and the signaling nodes share that have no
 * repository of their own here: accounts, call commands, carriers and node
 * metric snapshots, plus the API's date format. Calls, numbers, queues,
 * usage and recordings each have one module that owns shape, reads and
 * writes (call-records.ts, numbers.ts, queues.ts, usage.ts, recordings.ts);
 * every key name is built by keys.ts.
 */

/** Commands the control plane sends to the signaling nodes of a region. */
import type { PromFamily } from '../core/metrics.js';
export type CallCommand =
  | { type: 'originate'; callSid: string }
  | { type: 'hangup'; callSid: string }
  | { type: 'redirect'; callSid: string; url: string; method: 'GET' | 'POST' };

export type AccountStatus = 'active' | 'suspended' | 'closed';

export interface AccountRecord {
  sid: string; // AC + 32 hex
  authToken: string; // 32 hex
  friendlyName: string;
  status: AccountStatus;
  /** Parent account for subaccounts. */
  ownerAccountSid?: string;
  homeRegion: string;
  dateCreated: string;
  dateUpdated: string;
}

/** A carrier peering with a region; signaling admits INVITEs only from its allowed sources. */
export interface CarrierRecord {
  sid: string; // CR + 32 hex
  region: string;
  name: string;
  /** IPv4 addresses or CIDR blocks. */
  allowedSources: string[];
  /** Where outbound calls to this carrier go, e.g. sip:127.0.0.1:5090. */
  outboundProxy?: string;
  /** Number prefixes this carrier terminates, e.g. ['+1555']. */
  prefixes: string[];
  dateCreated: string;
}

/** Per-node counters a signaling node publishes for /metrics (JSON, short TTL). */
export interface NodeMetricsSnapshot {
  nodeId: string;
  region: string;
  at: number;
  activeCalls: number;
  callAttempts: number;
  /** Final failures by SIP status, e.g. {"486": 3}. */
  callFailures: Record<string, number>;
  /** ng command latency per media node: cumulative histogram buckets (ms) + sum + count. */
  ngLatency: Record<string, { buckets: Record<string, number>; sumMs: number; count: number }>;
  webhook: { requests: number; failures: number; latencySumMs: number };
  placements: Record<string, number>;
  /** The node's view of its region's media nodes (health from its ng pings), for the operator API. */
  media?: MediaNodeView[];
  /** Media nodes the operator drained: no new calls are placed on them. */
  drained?: string[];
  /** This node is drained by an operator and refuses new calls; absent in snapshots of older nodes. */
  draining?: boolean;
  /** SIP stack health; absent in snapshots of older nodes. */
  sip?: SipTransportMetrics;
  /** The B2BUA's unanswered BYEs sent again (signaling/b2bua/bye-retry.ts); absent in snapshots of older nodes. */
  byes?: ByeRetryMetrics;
  /** Admission control of new calls: its limits, the load it compares them with, refusals by reason; absent in snapshots of older nodes. */
  admission?: AdmissionMetrics;
  /** prom-client histograms (INVITE→200, webhooks) and process metrics of the node (regions/core/metrics.ts); absent in snapshots of older nodes. */
  prom?: PromFamily[];
  /** SIP over WebSocket for clients and their registrations; absent when the node serves no WebSocket (or is older). */
  websocket?: WebsocketMetrics;
  /** Batched Redis writes of the node (call state, placement traces; regions/store/write-batcher.ts); absent in snapshots of older nodes. */
  redisWrites?: RedisWriteMetrics;
}

export interface RedisWriteMetrics {
  /** Writes sent. */
  sent: number;
  /** Writes whose batch failed or timed out (the state they carried is not in Redis until the next write). */
  failed: number;
  /** How long writes are gathered, and the most a batch waits for Redis, ms. */
  batchMs: number;
  timeoutMs: number;
}

/**
 * The node's WebSocket listener (RFC 7118) and client registrar: the
 * connection limit and open connections, refusals by closed reason
 * (`limit`, `handshake`, `timeout`), bindings held now, and cumulative
 * registrations / unregistrations / bindings ended with their connection,
 * REGISTERs refused by SIP status.
 */
export interface WebsocketMetrics {
  maxConnections: number;
  connections: number;
  refused: Record<string, number>;
  bindings: number;
  registered: number;
  unregistered: number;
  connectionClosed: number;
  registerRefused: Record<string, number>;
}

/** Cumulative since start, but `pending`: BYEs waiting for their next try now (bounded by the node's maxPending). */
export interface ByeRetryMetrics {
  retried: number;
  gaveUp: number;
  answeredAfterRetry: number;
  pending: number;
}

/**
 * Admission control as a signaling node reports it (signaling/b2bua/admission.ts):
 * configured limits (0 = check off), the readings now, and new calls refused
 * with 503 since start by reason (`event-loop-delay`, `invites-in-flight`, `media-ports`, `throttle`).
 */
export interface AdmissionMetrics {
  limits: { maxEventLoopDelayMs: number; maxInvitesInFlight: number; minFreeMediaPorts: number; targetEventLoopUtilization?: number };
  eventLoopDelayMs: number;
  /** Event-loop utilization in the last window (0..1); absent from older nodes. */
  eventLoopUtilization?: number;
  /** Share of new INVITEs the throttle admits now (1: all); absent from older nodes. */
  admitShare?: number;
  invitesInFlight: number;
  /** Estimated free RTP ports on the media nodes taking new calls; absent when no port range is known. */
  freeMediaPorts?: number;
  refused: Record<string, number>;
}

/**
 * What the node's SIP stack threw away or refused itself (signaling/sip
 * counters), cumulative since start. Keys are small closed sets: drop
 * reasons of the transport (`unparseable`, `no-via`, `not-our-response`,
 * `framing`, `handler-error`, `unroutable`) and SIP statuses the stack
 * produces (400, 416, 420, 503, 505, 513).
 */
export interface SipTransportMetrics {
  dropped: Record<string, number>;
  rejected: Record<string, number>;
  /** Messages over the size limit (answered 513 or dropped). */
  oversized: number;
  /** New INVITEs refused statelessly before a transaction (shutting down, drained, admission control); absent from older nodes. */
  refusedStateless?: number;
  /** Transactions now: active ones (bounded by `limit`, sip.maxTransactions) and those lingering after their final response; absent from older nodes. */
  transactions?: { active: number; lingering: number; limit: number };
}

/** A media node as its signaling node last saw it (in the node metrics snapshot). */
export interface MediaNodeView {
  id: string;
  address: string;
  ngPort: number;
  capabilities: string[];
  healthy: boolean;
  load: number;
  /** Circuit breaker state of the node's ng client (`closed`, `open`, `half-open`). */
  breaker: string;
  /** RTT of the last successful ping, ms. */
  lastPingRttMs: number | undefined;
  /** When the last ping (either outcome) finished, ms since the epoch. */
  lastPingAt: number | undefined;
  lastError: string | undefined;
  /** True while the node takes no new calls for lack of RTP ports (it reported "Ran out of ports", or its estimated free ports are below one call's); absent from older nodes. */
  full?: boolean;
  /** Size of its RTP port range and the estimate of free ports (range minus the ports of the calls placed there); absent when no range is configured. */
  portCapacity?: number;
  freePorts?: number;
}

/** Dates in the API's format (RFC 2822, e.g. "Mon, 23 Nov 2026 16:20:00 +0000"). */
export function apiDate(d: Date = new Date()): string {
  return d.toUTCString().replace('GMT', '+0000');
}
