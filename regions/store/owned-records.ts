/**
 * A repository of JSON records owned by an account: record key + per-account
 * index (sorted set by creation ms). Applications, recordings, queues, API
 * keys and authorizations are all this shape; numbers and calls add to it.
 * Every read checks the SID's shape first: a malformed SID (`AC…:usage`)
 * never becomes part of a key, it reads as absent.
 */
import type { Redis, ChainableCommander } from 'ioredis';
import { isSid, type SidPrefix } from './sids.js';
import { pageIndex, readJson, readSidsMany, type PageQuery, type PageResult } from './records.js';

export interface OwnedRecord {
  sid: string;
  accountSid: string;
}

export class OwnedRecords<T extends OwnedRecord> {
  constructor(
    protected readonly redis: Redis,
    /** Records' SID prefix: a SID of another shape never reaches a key (it reads as absent). */
    private readonly sidPrefix: SidPrefix,
    private readonly recordKey: (sid: string) => string,
    private readonly indexKey: (accountSid: string) => string,
  ) {}

  async get(sid: string): Promise<T | undefined> {
    if (!isSid(sid, this.sidPrefix)) return undefined;
    return readJson<T>(this.redis, this.recordKey(sid));
  }

  /** The record, only if it belongs to `accountSid` (another tenant's SID reads as absent). */
  async getOwned(accountSid: string, sid: string): Promise<T | undefined> {
    const record = await this.get(sid);
    return record?.accountSid === accountSid ? record : undefined;
  }

  getMany(sids: string[]): Promise<(T | undefined)[]> {
    return readSidsMany<T>(this.redis, this.sidPrefix, sids, this.recordKey);
  }

  /** Writes record and index in one MULTI; `extra` adds commands to the same transaction. */
  async insert(record: T, createdMs: number, extra?: (tx: ChainableCommander) => void): Promise<void> {
    const tx = this.redis
      .multi()
      .set(this.recordKey(record.sid), JSON.stringify(record))
      .zadd(this.indexKey(record.accountSid), createdMs, record.sid);
    extra?.(tx);
    await tx.exec();
  }

  async replace(record: T): Promise<void> {
    await this.redis.set(this.recordKey(record.sid), JSON.stringify(record), 'XX');
  }

  async remove(record: T, extra?: (tx: ChainableCommander) => void): Promise<void> {
    const tx = this.redis.multi().del(this.recordKey(record.sid)).zrem(this.indexKey(record.accountSid), record.sid);
    extra?.(tx);
    await tx.exec();
  }

  list(accountSid: string, q: PageQuery<T>): Promise<PageResult<T>> {
    return pageIndex(this.redis, this.indexKey(accountSid), (sids) => this.getMany(sids), q);
  }
}
