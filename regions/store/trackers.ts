/**
 * Trackers (our extension): an account's standing question "how are the
 * calls carrying these tags doing?". A tracker names a set of tags (a call
 * must carry all of them), the measurements wanted, whether its
 * subaccounts' calls count, and the subaccounts it is shared with
 * read-only (a subaccount, or the subaccount an application authorization
 * created). The one owner of the tracker record, its keys (`tracker`,
 * `accountTrackers`, `sharedTrackers`) and the lookup the call side makes
 * when a call ends (`matchingTrackers`); the counters themselves are in
 * tracker-measurements.ts.
 */
import type { Redis } from 'ioredis';
import { MeshError } from '../core/errors.js';
import { keys } from './keys.js';
import { OwnedRecords } from './owned-records.js';
import { readJson, readSidsMany } from './records.js';
import type { AccountRecord } from './schema.js';
import { hasAllTags, MAX_CALL_TAGS, MAX_TAGS } from './tags.js';
import { RETENTION_DAYS } from './tracker-math.js';

/** What a tracker can report; each maps to fields of a Measurements bucket. */
export const TRACKER_MEASUREMENTS = ['calls', 'answered', 'failed', 'minutes', 'price', 'answer-seizure-ratio', 'post-dial-delay'] as const;
export type TrackerMeasurement = (typeof TRACKER_MEASUREMENTS)[number];

/** Trackers one account may define: each ended tagged call is matched against its account's and its parent's. */
export const MAX_TRACKERS_PER_ACCOUNT = 20;
/** Accounts one tracker may be shared with. */
export const MAX_TRACKER_SHARES = 10;

/** The fixed limits of tags and trackers, as operators see them (`mesh_api_limit{limit}` on /metrics). */
export const TAG_TRACKER_LIMITS = {
  tags_per_resource: MAX_TAGS,
  tags_per_call: MAX_CALL_TAGS,
  trackers_per_account: MAX_TRACKERS_PER_ACCOUNT,
  tracker_shares: MAX_TRACKER_SHARES,
  tracker_retention_days: RETENTION_DAYS,
} as const;

export interface TrackerRecord {
  sid: string; // TK + 32 hex
  accountSid: string;
  friendlyName: string;
  /** 1..10 tags, sorted; a call counts when it carries every one. */
  tags: string[];
  measurements: TrackerMeasurement[];
  /** Count the calls of the account's subaccounts too. */
  includeSubaccounts: boolean;
  /** Subaccounts of `accountSid` that may read this tracker and its measurements (nothing else of the account). */
  sharedWith: string[];
  dateCreated: string;
  dateUpdated: string;
}

/** KEYS[1] the account's tracker index; ARGV limit, score, sid. 1 when the sid now holds a place, 0 when the index is full. */
const RESERVE_SLOT = `if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
return 1`;

export class TrackerStore extends OwnedRecords<TrackerRecord> {
  private readonly k: ReturnType<typeof keys>;

  constructor(redis: Redis, prefix: string) {
    const k = keys(prefix);
    super(redis, 'TK', k.tracker, k.accountTrackers);
    this.k = k;
  }

  /**
   * Adds a tracker; 400 when the account already has `MAX_TRACKERS_PER_ACCOUNT`.
   * Its place in the account's index is reserved first by one atomic check-and-add
   * (RESERVE_SLOT), so concurrent creates never pass the limit and never undo each
   * other: of 30 at once, exactly the first 20 to reach Redis succeed.
   */
  async create(record: TrackerRecord, createdMs: number): Promise<void> {
    const index = this.k.accountTrackers(record.accountSid);
    const reserved = await this.redis.eval(RESERVE_SLOT, 1, index, MAX_TRACKERS_PER_ACCOUNT, createdMs, record.sid);
    if (reserved !== 1) {
      throw new MeshError('BAD_REQUEST', `An account may have at most ${MAX_TRACKERS_PER_ACCOUNT} trackers; delete one first`, { detail: { apiCode: 20001 } });
    }
    try {
      await this.insert(record, createdMs, (tx) => {
        for (const grantee of record.sharedWith) tx.sadd(this.k.sharedTrackers(grantee), record.sid);
      });
    } catch (e) {
      await this.redis.zrem(index, record.sid).catch(() => undefined);
      throw e;
    }
  }

  /** Replaces a tracker, moving its shares from `before` to the new list. */
  async update(before: TrackerRecord, next: TrackerRecord): Promise<void> {
    const tx = this.redis.multi().set(this.k.tracker(next.sid), JSON.stringify(next), 'XX');
    for (const gone of before.sharedWith.filter((s) => !next.sharedWith.includes(s))) tx.srem(this.k.sharedTrackers(gone), next.sid);
    for (const grantee of next.sharedWith) tx.sadd(this.k.sharedTrackers(grantee), next.sid);
    await tx.exec();
  }

  /** Removes a tracker, its shares and its measurement buckets (`dayKeys`: every day it may have counted). */
  async delete(record: TrackerRecord, dayKeys: string[]): Promise<void> {
    await this.remove(record, (tx) => {
      for (const grantee of record.sharedWith) tx.srem(this.k.sharedTrackers(grantee), record.sid);
      for (let i = 0; i < dayKeys.length; i += 100) tx.unlink(...dayKeys.slice(i, i + 100));
    });
  }

  /** Trackers other accounts shared with `accountSid` (still shared: a stale index entry is skipped). */
  async sharedWith(accountSid: string): Promise<TrackerRecord[]> {
    const sids = await this.redis.smembers(this.k.sharedTrackers(accountSid));
    const records = await this.getMany(sids.sort().slice(0, MAX_TRACKERS_PER_ACCOUNT));
    return records.filter((t): t is TrackerRecord => t !== undefined && t.sharedWith.includes(accountSid));
  }

  /** A tracker `accountSid` may read: its own, or one shared with it; `shared` tells which. */
  async getReadable(accountSid: string, sid: string): Promise<{ tracker: TrackerRecord; shared: boolean } | undefined> {
    const t = await this.get(sid);
    if (t === undefined) return undefined;
    if (t.accountSid === accountSid) return { tracker: t, shared: false };
    return t.sharedWith.includes(accountSid) ? { tracker: t, shared: true } : undefined;
  }
}

/**
 * The trackers an ended call of `accountSid` with `tags` counts in: the
 * account's own whose tags it all carries, and its parent's that include
 * subaccounts. At most 2 × MAX_TRACKERS_PER_ACCOUNT records are read.
 */
export async function matchingTrackers(redis: Redis, prefix: string, accountSid: string, tags: readonly string[]): Promise<TrackerRecord[]> {
  if (tags.length === 0) return [];
  const k = keys(prefix);
  const account = await readJson<AccountRecord>(redis, k.account(accountSid));
  const owners = [accountSid, ...(account?.ownerAccountSid !== undefined ? [account.ownerAccountSid] : [])];
  const sidLists = await Promise.all(owners.map((o) => redis.zrange(k.accountTrackers(o), 0, MAX_TRACKERS_PER_ACCOUNT - 1)));
  const trackers = await readSidsMany<TrackerRecord>(redis, 'TK', sidLists.flat(), k.tracker);
  return trackers.filter(
    (t): t is TrackerRecord =>
      t !== undefined && hasAllTags(tags, t.tags) && (t.accountSid === accountSid || (t.accountSid === account?.ownerAccountSid && t.includeSubaccounts)),
  );
}
