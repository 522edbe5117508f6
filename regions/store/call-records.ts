/**
 * Call records: the one owner of the `CallRecord` shape, its keys (`call`,
 * `accountCalls` of keys.ts) and every read and write of them, for both
 * sides. The control plane creates a record `queued` (Calls API, `insert`)
 * and reads and lists it; the signaling node that places or anchors the call
 * moves it through its statuses (`save`, `update`, `finish`). A SID that is
 * not `CA` + 32 hex reads as absent (OwnedRecords).
 *
 * Prices: a record written before its call ends (`insert` by the Calls API,
 * `save` of a call that is starting) takes the rate in force at that moment
 * (`rate`, from the account's decks: regions/pricing/store.ts); `finish` bills
 * an answered call each started minute at that rate and writes `price`
 * (negative, as the API shows what the account is charged) with its usage.
 */
import type { ChainableCommander, Redis } from 'ioredis';
import { formatMicros } from '../pricing/money.js';
import { PriceDecks, priceAtRate, type CapturedRate } from '../pricing/store.js';
import { keys } from './keys.js';
import { OwnedRecords } from './owned-records.js';
import { recordedPlacements, type RecordedPlacement } from './placement-traces.js';
import { apiDate } from './schema.js';
import { recordTaggedMinutes } from './tag-usage.js';
import { recordTrackedCall } from './tracker-measurements.js';
import { callMinutesCategory, recordCallMinutes, type CallMinutesCategory } from './usage.js';

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
  /** The rate captured when the record was first written (the call's start); absent when the decks price nothing for it. */
  rate?: CapturedRate;
  /** What the call cost, negative decimal string ("-0.02800"), once a priced call completed. */
  price?: string;
  priceUnit?: string;
}

/** How a call the platform was a party of ended. */
export interface CallEnd {
  accountSid: string;
  /** Which minutes an answered call adds to. */
  category: CallMinutesCategory;
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
  private readonly decks: PriceDecks;

  constructor(
    redis: Redis,
    private readonly prefix: string,
  ) {
    const k = keys(prefix);
    super(redis, 'CA', k.call, k.accountCalls);
    this.k = k;
    this.decks = new PriceDecks(redis, prefix);
  }

  /**
   * The record with the rate in force now, when it is a call starting (not final) without
   * one. A call the decks price nothing for (no matching entry, no platform deck) keeps no
   * rate and ends with price null; that is told to `onPriceError`.
   */
  async withRate(rec: CallRecord, onPriceError?: (error: unknown) => void): Promise<CallRecord> {
    if (rec.rate !== undefined || FINAL_CALL_STATUSES.includes(rec.status)) return rec;
    // Client minutes (calls-client) are unpriced: the decks have no client item, so such a call ends with price null.
    if (callMinutesCategory(rec, 'calls-inbound') === 'calls-client') return rec;
    try {
      return { ...rec, rate: await this.decks.callRate(rec, Date.parse(rec.dateCreated) || Date.now()) };
    } catch (e) {
      onPriceError?.(e);
      return rec;
    }
  }

  /** Creates the record (Calls API), with the rate in force now. */
  override async insert(record: CallRecord, createdMs: number, extra?: (tx: ChainableCommander) => void): Promise<void> {
    await super.insert(await this.withRate(record), createdMs, extra);
  }

  /** Write the whole record and index it under its account; a call starting takes the rate in force now. */
  async save(record: CallRecord): Promise<void> {
    const rec = await this.withRate(record);
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
    let priced: Pick<CallRecord, 'price' | 'priceUnit'> = {};
    if (e.answeredAt !== undefined) {
      const rate = (await this.get(sid).catch(() => undefined))?.rate;
      const priceMicros = rate === undefined ? undefined : priceAtRate(rate, duration);
      if (rate !== undefined && priceMicros !== undefined) priced = { price: formatMicros(-priceMicros), priceUnit: rate.priceUnit };
      await recordCallMinutes(this.redis, this.prefix, { accountSid: e.accountSid, category: e.category, region: e.region, durationS: duration, at: e.endedAt, priceMicros }).catch(onUsageError);
    }
    const placements = e.traceKey === undefined ? [] : await recordedPlacements(this.redis, this.prefix, e.traceKey).catch(() => []);
    return this.update(sid, {
      status,
      endTime: apiDate(new Date(e.endedAt)),
      duration,
      ...priced,
      ...(placements.length > 0 ? { placements } : {}),
      ...(e.postDialDelayMs !== undefined ? { postDialDelayMs: e.postDialDelayMs } : {}),
      ...(e.sipResponseCode !== undefined && status !== 'completed' ? { sipResponseCode: e.sipResponseCode } : {}),
    });
  }
}
