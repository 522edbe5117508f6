/**
 * Call queues in Redis: the one owner of the queue record shape, its keys
 * (keys.ts: queue, accountQueues, queueNames, queueMembers, queueWaitStats)
 * and every read and write, shared by the control plane's Queues API (which
 * also lists and fetches through OwnedRecords) and the call side (`Enqueue`,
 * `Dial`→`Queue`, through call-queues.ts). Every write is an atomic script
 * (queue-scripts.ts). A SID that is not `QU` + 32 hex reads as absent.
 *
 * A queue is owned by an account and found by its FriendlyName through the
 * per-account name index, so names are unique within an account. Members are
 * call SIDs in a sorted set scored by enqueue time in ms; position = rank + 1.
 */
import type { Redis } from 'ioredis';
import { MeshError } from '../core/errors.js';
import { keys } from './keys.js';
import { OwnedRecords } from './owned-records.js';
import { CREATE_QUEUE, DELETE_QUEUE, ENQUEUE, FORGET_QUEUE_NAME, POP_FRONT, REMOVE_MEMBER, UPDATE_QUEUE, WAIT_STATS } from './queue-scripts.js';
import { isSid } from './sids.js';

/** MaxSize of a queue created without one (API default, and every queue `Enqueue` creates). */
export const DEFAULT_QUEUE_MAX_SIZE = 100;
/** Largest MaxSize the API accepts. */
export const MAX_QUEUE_MAX_SIZE = 5000;
/** A queue name is 1..64 characters (the dialect's limit for `Enqueue` and `Dial`→`Queue`). */
export const MAX_QUEUE_NAME_LENGTH = 64;

export interface QueueRecord {
  sid: string; // QU + 32 hex
  accountSid: string;
  friendlyName: string;
  /** 1..5000, default 100 (the API's limits). */
  maxSize: number;
  dateCreated: string;
  dateUpdated: string;
}

/** A call's place in a queue (structurally the router's `QueuePlace`, signaling/router/leg.ts). */
export interface QueuePlace {
  queueSid: string;
  /** 1-based position, front = 1. */
  position: number;
  /** Calls waiting in the queue, this one included. */
  size: number;
}

export interface QueueMember {
  callSid: string;
  /** Enqueue time, ms since epoch (may carry a fraction: scores are kept strictly increasing). */
  enqueuedMs: number;
  /** 1-based position (for a removed member: the position it had). */
  position: number;
}

export interface QueueWaitStats {
  /** Calls waiting now (the API's CurrentSize). */
  size: number;
  /** Mean time the current members have waited, ms (the API's AverageWaitTime, the dialect's AvgQueueTime); 0 when empty. */
  averageWaitMs: number;
}

export type CreateQueueResult = { created: true; record: QueueRecord } | { created: false; record: QueueRecord };
export type UpdateQueueResult = { status: 'ok'; record: QueueRecord } | { status: 'gone' } | { status: 'name-taken' };
export type DeleteQueueResult = 'removed' | 'gone' | 'not-empty';
export type EnqueueResult =
  | { status: 'ok'; place: QueuePlace; enqueuedMs: number }
  | { status: 'full'; size: number; maxSize: number }
  | { status: 'gone' };

/** Stale name entries (record deleted behind the index's back) are repaired this many times before giving up. */
const NAME_RETRIES = 3;

function parseRecord(raw: string | null): QueueRecord | undefined {
  if (raw === null) return undefined;
  try {
    return JSON.parse(raw) as QueueRecord;
  } catch {
    return undefined;
  }
}

/**
 * get/getOwned/list come from OwnedRecords (the API's reads); every write
 * goes through the scripts below so the name index and wait statistics stay
 * right (OwnedRecords' insert/replace/remove are not used for queues).
 */
export class QueueStore extends OwnedRecords<QueueRecord> {
  private readonly k: ReturnType<typeof keys>;

  constructor(redis: Redis, keyPrefix: string) {
    const k = keys(keyPrefix);
    super(redis, 'QU', k.queue, k.accountQueues);
    this.k = k;
  }

  /** A record that does not parse reads as absent, as a malformed SID does. */
  override async get(sid: string): Promise<QueueRecord | undefined> {
    if (!isSid(sid, 'QU')) return undefined;
    return parseRecord(await this.redis.get(this.k.queue(sid)));
  }

  async sidByName(accountSid: string, friendlyName: string): Promise<string | undefined> {
    return (await this.redis.hget(this.k.queueNames(accountSid), friendlyName)) ?? undefined;
  }

  /**
   * Writes a new queue and claims its name, atomically. When the account
   * already has a queue of that name, nothing is written and that queue is
   * returned (`created: false`): the API answers 409, `Enqueue` joins it.
   */
  async create(record: QueueRecord, createdMs: number): Promise<CreateQueueResult> {
    const names = this.k.queueNames(record.accountSid);
    for (let attempt = 0; attempt < NAME_RETRIES; attempt++) {
      const [sid, created] = (await this.redis.eval(
        CREATE_QUEUE,
        3,
        names,
        this.k.accountQueues(record.accountSid),
        this.k.queue(record.sid),
        record.friendlyName,
        record.sid,
        JSON.stringify(record),
        String(createdMs),
      )) as [string, number];
      if (created === 1) return { created: true, record };
      const existing = await this.get(sid);
      if (existing !== undefined) return { created: false, record: existing };
      await this.forgetName(record.accountSid, record.friendlyName, sid);
    }
    throw new MeshError('INTERNAL', `Queue name "${record.friendlyName}" keeps pointing at missing queues`);
  }

  /** Renames (the index follows) and/or resizes; `name-taken` when another queue of the account has the new name. */
  async update(sid: string, accountSid: string, patch: { friendlyName?: string; maxSize?: number }, dateUpdated: string): Promise<UpdateQueueResult> {
    const reply = (await this.redis.eval(
      UPDATE_QUEUE,
      2,
      this.k.queueNames(accountSid),
      this.k.queue(sid),
      sid,
      patch.friendlyName === undefined ? '0' : '1',
      patch.friendlyName ?? '',
      patch.maxSize === undefined ? '' : String(patch.maxSize),
      dateUpdated,
    )) as [string, string?];
    if (reply[0] === 'gone' || reply[0] === 'name-taken') return { status: reply[0] };
    const record = parseRecord(reply[1] ?? null);
    if (record === undefined) throw new MeshError('INTERNAL', `Queue ${sid} could not be re-read after update`);
    return { status: 'ok', record };
  }

  /** Deletes an empty queue with its name entry and statistics; a queue with members stays (`not-empty`). */
  async delete(sid: string, accountSid: string): Promise<DeleteQueueResult> {
    return (await this.redis.eval(
      DELETE_QUEUE,
      5,
      this.k.queueNames(accountSid),
      this.k.accountQueues(accountSid),
      this.k.queue(sid),
      this.k.queueMembers(sid),
      this.k.queueWaitStats(sid),
      sid,
    )) as DeleteQueueResult;
  }

  /** Drops `name` from the account's index if it still points at `sid` (whose record is gone). */
  async forgetName(accountSid: string, friendlyName: string, sid: string): Promise<void> {
    await this.redis.eval(FORGET_QUEUE_NAME, 1, this.k.queueNames(accountSid), friendlyName, sid);
  }

  /** Adds the call at the back unless the queue is at its MaxSize; a call already waiting keeps its place. */
  async enqueue(queueSid: string, callSid: string, nowMs: number): Promise<EnqueueResult> {
    const [status, position, size, extra] = (await this.redis.eval(
      ENQUEUE,
      3,
      this.k.queue(queueSid),
      this.k.queueMembers(queueSid),
      this.k.queueWaitStats(queueSid),
      callSid,
      String(nowMs),
      String(DEFAULT_QUEUE_MAX_SIZE),
    )) as [string, number, number, string];
    if (status === 'gone') return { status: 'gone' };
    if (status === 'full') return { status: 'full', size, maxSize: Number(extra) };
    return { status: 'ok', place: { queueSid, position, size }, enqueuedMs: Number(extra) };
  }

  /** Where the call waits now, or undefined when it is not in the queue. */
  async place(queueSid: string, callSid: string): Promise<QueuePlace | undefined> {
    const key = this.k.queueMembers(queueSid);
    const res = await this.redis.multi().zrank(key, callSid).zcard(key).exec();
    const rank = res?.[0]?.[1] as number | null | undefined;
    const size = res?.[1]?.[1] as number | undefined;
    if (rank === null || rank === undefined || size === undefined) return undefined;
    return { queueSid, position: rank + 1, size };
  }

  /** One member by CallSid, with its position. */
  async member(queueSid: string, callSid: string): Promise<QueueMember | undefined> {
    const key = this.k.queueMembers(queueSid);
    const res = await this.redis.multi().zscore(key, callSid).zrank(key, callSid).exec();
    const score = res?.[0]?.[1] as string | null | undefined;
    const rank = res?.[1]?.[1] as number | null | undefined;
    if (score === null || score === undefined || rank === null || rank === undefined) return undefined;
    return { callSid, enqueuedMs: Number(score), position: rank + 1 };
  }

  /** Members front first: `count` of them from 0-based `offset`. */
  async members(queueSid: string, offset: number, count: number): Promise<QueueMember[]> {
    if (count <= 0) return [];
    const raw = await this.redis.zrange(this.k.queueMembers(queueSid), offset, offset + count - 1, 'WITHSCORES');
    const out: QueueMember[] = [];
    for (let i = 0; i + 1 < raw.length; i += 2) out.push({ callSid: raw[i] as string, enqueuedMs: Number(raw[i + 1]), position: offset + i / 2 + 1 });
    return out;
  }

  /** Removes one call; returns it as it was (position included), or undefined if it was not there. */
  async removeMember(queueSid: string, callSid: string): Promise<QueueMember | undefined> {
    const reply = (await this.redis.eval(REMOVE_MEMBER, 2, this.k.queueMembers(queueSid), this.k.queueWaitStats(queueSid), callSid)) as
      | [string, number]
      | null;
    return reply === null ? undefined : { callSid, enqueuedMs: Number(reply[0]), position: reply[1] };
  }

  /** Takes the front call atomically (ZPOPMIN): of two concurrent callers, only one gets a given member. */
  async popFront(queueSid: string): Promise<QueueMember | undefined> {
    const reply = (await this.redis.eval(POP_FRONT, 2, this.k.queueMembers(queueSid), this.k.queueWaitStats(queueSid))) as [string, string] | null;
    return reply === null ? undefined : { callSid: reply[0], enqueuedMs: Number(reply[1]), position: 1 };
  }

  /** CurrentSize and AverageWaitTime, O(1). */
  async waitStats(queueSid: string, nowMs: number): Promise<QueueWaitStats> {
    const [size, epoch, sum] = (await this.redis.eval(WAIT_STATS, 2, this.k.queueMembers(queueSid), this.k.queueWaitStats(queueSid))) as [
      number,
      string | null,
      string | null,
    ];
    if (size === 0 || epoch === null || sum === null) return { size, averageWaitMs: 0 };
    const meanEnqueuedMs = Number(epoch) + Number(sum) / size;
    return { size, averageWaitMs: Math.max(0, nowMs - meanEnqueuedMs) };
  }
}

/**
 * Enqueues a call at `atMs` (tests and tools; the call side uses
 * RedisCallQueues). Same atomic write as the call side: MaxSize is enforced.
 */
export async function enqueueMember(redis: Redis, prefix: string, queueSid: string, callSid: string, atMs: number): Promise<void> {
  const r = await new QueueStore(redis, prefix).enqueue(queueSid, callSid, atMs);
  if (r.status === 'gone') throw new MeshError('NOT_FOUND', `Queue ${queueSid} does not exist`);
  if (r.status === 'full') throw new MeshError('CONFLICT', `Queue ${queueSid} is full (MaxSize ${r.maxSize})`, { detail: { queueFull: true } });
}
