/**
 * Call records in Redis (shape and keys in schema.ts), written by whoever owns
 * the call's state at the moment: the control plane creates it `queued`, the
 * signaling node that places or anchors the call moves it through its statuses.
 */
import type { Redis } from 'ioredis';
import { apiDate, keys, type CallRecord } from './schema.js';

export class CallRecordStore {
  private readonly k: ReturnType<typeof keys>;

  constructor(
    private readonly redis: Redis,
    prefix: string,
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
}
