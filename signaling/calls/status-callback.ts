/**
 * Call progress callbacks (initiated, ringing, answered, completed): the
 * call's base parameters plus the callback's own, signed like every webhook.
 * One builder for API-originated, dialed and inbound calls.
 */
import type { DestinationPolicy } from '../../regions/net/destination-policy.js';
import { apiDate, type CallEvent, type CallRecord } from '../../regions/store/schema.js';
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
