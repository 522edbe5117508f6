/**
 * Call records in Redis (shape and keys in schema.ts), written by whoever owns
 * the call's state at the moment: the control plane creates it `queued`, the
 * signaling node that places or anchors the call moves it through its statuses.
 */
import type { Redis } from 'ioredis';
import { apiDate, keys, type CallRecord, type CallStatus } from './schema.js';
import { recordCallMinutes } from './usage.js';

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
}

export class CallRecordStore {
  private readonly k: ReturnType<typeof keys>;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {
    this.k = keys(prefix);
  }

  async get(sid: string): Promise<CallRecord | undefined> {
    const v = await this.redis.get(this.k.call(sid));
    return v === null ? undefined : (JSON.parse(v) as CallRecord);
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
    const duration = e.answeredAt === undefined ? 0 : Math.round((e.endedAt - e.answeredAt) / 1000);
    const status: CallStatus = e.answeredAt !== undefined ? 'completed' : e.unansweredStatus;
    if (e.answeredAt !== undefined) {
      await recordCallMinutes(this.redis, this.prefix, { accountSid: e.accountSid, category: e.category, region: e.region, durationS: duration, at: e.endedAt }).catch(onUsageError);
    }
    return this.update(sid, {
      status,
      endTime: apiDate(new Date(e.endedAt)),
      duration,
      ...(e.sipResponseCode !== undefined && status !== 'completed' ? { sipResponseCode: e.sipResponseCode } : {}),
    });
  }
}
