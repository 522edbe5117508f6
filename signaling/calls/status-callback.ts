/**
 * Call progress callbacks (initiated, ringing, answered, completed): the
 * call's base parameters plus the callback's own, signed like every webhook.
 * One builder for API-originated, dialed and inbound calls.
 */
import type { NodeLatencyMetrics } from '../../regions/core/metrics.js';
import type { DestinationPolicy } from '../../regions/net/destination-policy.js';
import type { CallEvent, CallRecord } from '../../regions/store/call-records.js';
import { apiDate } from '../../regions/store/schema.js';
import { sendWebhook, type WebhookResult } from '../webhooks/http.js';
import type { Params } from '../webhooks/signature.js';

/** The parameters every request about a call carries. */
export function callParams(rec: CallRecord): Params {
  return {
    CallSid: rec.sid,
    AccountSid: rec.accountSid,
    From: rec.from,
    To: rec.to,
    CallStatus: rec.status,
    Direction: rec.direction,
    ApiVersion: '2010-04-01',
    ...(rec.parentCallSid !== undefined ? { ParentCallSid: rec.parentCallSid } : {}),
  };
}

export interface StatusCallbackRequest {
  target: { url: string; method: 'GET' | 'POST' };
  rec: CallRecord;
  event: CallEvent;
  /** 0 for the first callback of the call, then 1, 2, … */
  sequence: number;
  authToken: string;
  timeoutMs: number;
  /** Where the callback may point (webhooks.*). Default: sendWebhook's (anywhere). */
  policy?: DestinationPolicy | undefined;
}

export function statusCallbackParams(r: Pick<StatusCallbackRequest, 'rec' | 'event' | 'sequence'>): Params {
  const duration = r.rec.duration ?? 0;
  return {
    ...callParams(r.rec),
    CallbackSource: 'call-progress-events',
    SequenceNumber: String(r.sequence),
    Timestamp: apiDate(),
    ...(r.event === 'completed' ? { CallDuration: String(duration), Duration: String(Math.ceil(duration / 60)) } : {}),
    ...(r.rec.sipResponseCode !== undefined ? { SipResponseCode: String(r.rec.sipResponseCode) } : {}),
  };
}

export function sendStatusCallback(r: StatusCallbackRequest): Promise<WebhookResult> {
  return sendWebhook({ method: r.target.method, url: r.target.url, params: statusCallbackParams(r), authToken: r.authToken, timeoutMs: r.timeoutMs, policy: r.policy });
}

/** Counters of the webhook requests a component sent, for /metrics. */
export interface WebhookStats {
  requests: number;
  failures: number;
  latencySumMs: number;
}

/**
 * The status callbacks of one kind of call: sends the events a call
 * subscribed to (default `completed` only), numbers them per call, and counts
 * them for /metrics. A failed callback is logged; the call goes on.
 */
export class StatusCallbacks {
  readonly stats: WebhookStats = { requests: 0, failures: 0, latencySumMs: 0 };

  constructor(private readonly o: {
    timeoutMs: number;
    policy?: DestinationPolicy | undefined;
    onFailure: (rec: CallRecord, event: CallEvent, r: WebhookResult) => void;
    /** The node's webhook latency histogram. */
    latency?: Pick<NodeLatencyMetrics, 'observeWebhook'>;
  }) {}

  async send(call: { rec: CallRecord; sequence: number }, authToken: string, event: CallEvent): Promise<void> {
    const url = call.rec.statusCallback;
    if (url === undefined) return;
    const events = call.rec.statusCallbackEvents ?? ['completed'];
    if (!events.includes(event)) return;
    call.sequence += 1;
    const r = await sendStatusCallback({
      target: { url, method: call.rec.statusCallbackMethod ?? 'POST' },
      rec: call.rec,
      event,
      sequence: call.sequence - 1,
      authToken,
      timeoutMs: this.o.timeoutMs,
      policy: this.o.policy,
    });
    this.stats.requests++;
    this.stats.latencySumMs += r.ms;
    this.o.latency?.observeWebhook('status-callback', r.ok, r.ms);
    if (!r.ok) {
      this.stats.failures++;
      this.o.onFailure(call.rec, event, r);
    }
  }
}
