/**
 * Call records: the one owner of the `CallRecord` shape, its keys (`call`,
 * `accountCalls` of keys.ts) and every read and write of them, for both
 * sides. The control plane creates a record `queued` (Calls API, `insert`)
 * and reads and lists it; the signaling node that places or anchors the call
 * moves it through its statuses (`save`, `update`, `finish`). A SID that is
 * not `CA` + 32 hex reads as absent (OwnedRecords).
 */
import type { Redis } from 'ioredis';
import { keys } from './keys.js';
import { OwnedRecords } from './owned-records.js';
import { recordedPlacements, type RecordedPlacement } from './placement-traces.js';
import { apiDate } from './schema.js';
import { recordTaggedMinutes } from './tag-usage.js';
import { recordTrackedCall } from './tracker-measurements.js';
import { recordCallMinutes } from './usage.js';

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
  /** The call's media placement decisions, copied from its trace when it ended (the trace itself expires after a day). */
  placements?: RecordedPlacement[];
  /** Tags (tags.ts): the call's own (API `Tags`) and those of the number and application it came through. */
  tags?: string[];
  /** Time from the call's INVITE (sent or received) to its first ringing (180/183) or answer, ms; set by the call side when it knows. */
  postDialDelayMs?: number;
}

/** How a call the platform was a party of ended. */
export interface CallEnd {
  accountSid: string;
  /** Which minutes an answered call adds to. */
  category: 'calls-inbound' | 'calls-outbound';
  region: string;
  answeredAt: number | undefined;
  endedAt: number;
  /** The status when it was never answered (answered calls end `completed`). */
  unansweredStatus: CallStatus;
  sipResponseCode?: number | undefined;
  /** Key the call's placement trace is kept under (CallSid or the SIP Call-ID its media was placed under): copied into the record. */
  traceKey?: string;
  /** INVITE to first ringing or answer, ms, when the call got that far. */
  postDialDelayMs?: number | undefined;
}

export class CallRecordStore extends OwnedRecords<CallRecord> {
  private readonly k: ReturnType<typeof keys>;

  constructor(
    redis: Redis,
    private readonly prefix: string,
  ) {
    const k = keys(prefix);
    super(redis, 'CA', k.call, k.accountCalls);
    this.k = k;
  }

  /** Write the whole record and index it under its account. */
  async save(rec: CallRecord): Promise<void> {
    await this.redis
      .multi()
      .set(this.k.call(rec.sid), JSON.stringify(rec))
      .zadd(this.k.accountCalls(rec.accountSid), Date.parse(rec.dateCreated) || Date.now(), rec.sid)
      .exec();
  }

  /** Read-modify-write of some fields; dateUpdated is set. Returns the new record, or undefined if it is gone. */
  async update(sid: string, patch: Partial<CallRecord>): Promise<CallRecord | undefined> {
    const cur = await this.get(sid);
    if (cur === undefined) return undefined;
    const next: CallRecord = { ...cur, ...patch, dateUpdated: apiDate() };
    await this.redis.set(this.k.call(sid), JSON.stringify(next));
    return next;
  }

  /**
   * The end of a call, in the order that acknowledges it: an answered call's
   * minutes first (usage is written before the final status is visible), then
   * the final status, end time and duration. A usage failure is reported to
   * `onUsageError` and does not keep the record from being finished.
   */
  async finish(sid: string, e: CallEnd, onUsageError: (error: unknown) => void): Promise<CallRecord | undefined> {
    const ended = await this.finishRecord(sid, e, onUsageError);
    // Its tags' usage, and the trackers its tags match, count it once its record is final (price included, when pricing set one).
    if (ended !== undefined) {
      await recordTaggedMinutes(this.redis, this.prefix, ended, { category: e.category, region: e.region, at: e.endedAt }).catch(onUsageError);
      await recordTrackedCall(this.redis, this.prefix, ended).catch(onUsageError);
    }
    return ended;
  }

  private async finishRecord(sid: string, e: CallEnd, onUsageError: (error: unknown) => void): Promise<CallRecord | undefined> {
    const duration = e.answeredAt === undefined ? 0 : Math.round((e.endedAt - e.answeredAt) / 1000);
    const status: CallStatus = e.answeredAt !== undefined ? 'completed' : e.unansweredStatus;
    if (e.answeredAt !== undefined) {
      await recordCallMinutes(this.redis, this.prefix, { accountSid: e.accountSid, category: e.category, region: e.region, durationS: duration, at: e.endedAt }).catch(onUsageError);
    }
    const placements = e.traceKey === undefined ? [] : await recordedPlacements(this.redis, this.prefix, e.traceKey).catch(() => []);
    return this.update(sid, {
      status,
      endTime: apiDate(new Date(e.endedAt)),
      duration,
      ...(placements.length > 0 ? { placements } : {}),
      ...(e.postDialDelayMs !== undefined ? { postDialDelayMs: e.postDialDelayMs } : {}),
      ...(e.sipResponseCode !== undefined && status !== 'completed' ? { sipResponseCode: e.sipResponseCode } : {}),
    });
  }
}
