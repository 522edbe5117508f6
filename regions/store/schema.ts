/**
 * The Redis schema shared by the control plane and the signaling nodes: record
 * shapes and key layout in one place, so both sides read and write the same
 * thing. Repositories (control-plane/store/, signaling/…) build on these.
 *
 * All keys start with the configured prefix (default `mesh:`). Records are
 * JSON strings; indexes are sorted sets scored by creation time in ms.
 */

/** Call status, as the 2010-04-01 API names it. */
export type CallStatus =
  | 'queued'
  | 'initiated'
  | 'ringing'
  | 'in-progress'
  | 'completed'
  | 'busy'
  | 'failed'
  | 'no-answer'
  | 'canceled';

export const FINAL_CALL_STATUSES: readonly CallStatus[] = ['completed', 'busy', 'failed', 'no-answer', 'canceled'];

export type CallDirection = 'inbound' | 'outbound-api' | 'outbound-dial';

/** Status-callback events a call can subscribe to (StatusCallbackEvent). */
export type CallEvent = 'initiated' | 'ringing' | 'answered' | 'completed';

export interface CallRecord {
  sid: string; // CA + 32 hex
  accountSid: string;
  parentCallSid?: string;
  direction: CallDirection;
  from: string;
  to: string;
  status: CallStatus;
  /** Home region that anchors the call. */
  region: string;
  /** Signaling node handling it, once one took it. */
  nodeId?: string;
  applicationSid?: string;
  url?: string;
  method?: 'GET' | 'POST';
  fallbackUrl?: string;
  fallbackMethod?: 'GET' | 'POST';
  statusCallback?: string;
  statusCallbackMethod?: 'GET' | 'POST';
  /** Default ['completed'] (only the final event), as the API does. */
  statusCallbackEvents?: CallEvent[];
  /** Seconds to ring before giving up (Timeout param). Default 60. */
  timeout?: number;
  dateCreated: string; // RFC 2822, as the API renders dates
  dateUpdated: string;
  startTime?: string;
  endTime?: string;
  /** Seconds from answer to end; set when completed. */
  duration?: number;
  /** Final SIP status of the leg, when it failed. */
  sipResponseCode?: number;
}

/** Commands the control plane sends to the signaling nodes of a region. */
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

/** Usage categories (Usage/Records `Category`). */
export type UsageCategory = 'calls-inbound' | 'calls-outbound' | 'recordings' | 'media-branches' | 'api-requests';

export interface UsageEvent {
  accountSid: string;
  category: UsageCategory;
  region: string;
  quantity: number;
  /** minutes | recordings | branches | requests */
  unit: string;
  /** ms since epoch */
  at: number;
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

export interface IncomingNumberRecord {
  sid: string; // PN + 32 hex
  accountSid: string;
  phoneNumber: string; // E.164
  friendlyName: string;
  applicationSid?: string; // VoiceApplicationSid
  voiceUrl?: string;
  voiceMethod?: 'GET' | 'POST';
  voiceFallbackUrl?: string;
  voiceFallbackMethod?: 'GET' | 'POST';
  statusCallback?: string;
  statusCallbackMethod?: 'GET' | 'POST';
  homeRegion: string;
  dateCreated: string;
  dateUpdated: string;
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
  /** SIP stack health; absent in snapshots of older nodes. */
  sip?: SipTransportMetrics;
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
}

export interface MediaNodeView {
  id: string;
  address: string;
  ngPort: number;
  capabilities: string[];
  healthy: boolean;
  load: number;
  breaker: string;
  lastPingRttMs: number | undefined;
  lastPingAt: number | undefined;
  lastError: string | undefined;
}

export const keys = (prefix: string) => ({
  account: (sid: string) => `${prefix}account:${sid}`,
  /** Sorted set of subaccount SIDs of an owner. */
  subaccounts: (ownerSid: string) => `${prefix}account:${ownerSid}:subaccounts`,
  call: (sid: string) => `${prefix}callrec:${sid}`,
  /** Sorted set of call SIDs per account, scored by creation ms. */
  accountCalls: (accountSid: string) => `${prefix}account:${accountSid}:calls`,
  /** Redis stream of CallCommand JSON for a region's signaling nodes (field `cmd`). */
  commands: (region: string) => `${prefix}cmd:${region}`,
  number: (sid: string) => `${prefix}number:${sid}`,
  /** E.164 → number SID. */
  numberByE164: (e164: string) => `${prefix}number-e164:${e164}`,
  carrier: (sid: string) => `${prefix}carrier:${sid}`,
  /** Set of carrier SIDs per region. */
  regionCarriers: (region: string) => `${prefix}region:${region}:carriers`,
  /** Hash category|region|yyyy-mm-dd → quantity, per account. */
  usage: (accountSid: string) => `${prefix}account:${accountSid}:usage`,
  /** Per-node metrics snapshot (JSON string, TTL). */
  nodeMetrics: (nodeId: string) => `${prefix}metrics:node:${nodeId}`,
  /** List of placement trace entries (JSON) of a call, keyed by CallSid or the SIP Call-ID of its first leg. */
  placements: (callKey: string) => `${prefix}placements:${callKey}`,
  /** Set of media node ids drained by an operator drill. */
  drainedNodes: () => `${prefix}drained-nodes`,
  /** Set of node ids that published metrics. */
  metricsNodes: () => `${prefix}metrics:nodes`,
  /** QueueRecord (queues.ts). */
  queue: (sid: string) => `${prefix}queue:${sid}`,
  /** Sorted set of queue SIDs per account, scored by creation ms. */
  accountQueues: (accountSid: string) => `${prefix}account:${accountSid}:queues`,
  /** Hash FriendlyName → queue SID per account: how `Enqueue` and `Dial`→`Queue` find a queue. */
  queueNames: (accountSid: string) => `${prefix}account:${accountSid}:queue-names`,
  /** Sorted set of call SIDs waiting in a queue, scored by enqueue ms (position = rank + 1; strictly increasing scores keep FIFO). */
  queueMembers: (queueSid: string) => `${prefix}queue:${queueSid}:members`,
  /** Hash `epoch` (ms) + `sum` (Σ floor(enqueue ms) − epoch over current members): average wait in O(1). */
  queueWaitStats: (queueSid: string) => `${prefix}queue:${queueSid}:wait`,
  /** RecordingRecord (recordings.ts). */
  recording: (sid: string) => `${prefix}recording:${sid}`,
  /** Sorted set of recording SIDs per account, scored by creation ms. */
  accountRecordings: (accountSid: string) => `${prefix}account:${accountSid}:recordings`,
});

/** Dates in the API's format (RFC 2822, e.g. "Mon, 23 Nov 2026 16:20:00 +0000"). */
export function apiDate(d: Date = new Date()): string {
  return d.toUTCString().replace('GMT', '+0000');
}
