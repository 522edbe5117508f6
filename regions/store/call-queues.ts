/**
 * The call side's view of queues (`CallQueues` of signaling/router/leg.ts,
 * matched structurally: regions/ imports nothing of signaling/). Queues are
 * found by account + FriendlyName; `Enqueue` creates a missing one with the
 * default MaxSize. All state is the control plane's (queues.ts), so the
 * Queues API shows exactly what the calls see.
 */
import type { Redis } from 'ioredis';
import { MeshError } from '../core/errors.js';
import { apiDate } from './schema.js';
import { DEFAULT_QUEUE_MAX_SIZE, MAX_QUEUE_NAME_LENGTH, QueueStore, type QueuePlace, type QueueRecord, type QueueWaitStats } from './queues.js';
import { newSid } from './sids.js';

export interface RedisCallQueuesOptions {
  /** Clock in ms since epoch; default Date.now. */
  now?: () => number;
}

/** A queue that disappears between lookup and enqueue (deleted by the API) is looked up again this many times. */
const ENQUEUE_ATTEMPTS = 3;

export class RedisCallQueues {
  readonly store: QueueStore;
  private readonly now: () => number;

  constructor(redis: Redis, keyPrefix: string, opts: RedisCallQueuesOptions = {}) {
    this.store = new QueueStore(redis, keyPrefix);
    this.now = opts.now ?? Date.now;
  }

  /**
   * Puts the call at the back of the account's queue `queueName`, creating
   * the queue if needed. Throws MeshError BAD_REQUEST for an empty or
   * over-long name, CONFLICT with `detail.queueFull = true` at MaxSize.
   */
  async enqueue(accountSid: string, queueName: string, callSid: string): Promise<QueuePlace> {
    checkQueueName(queueName);
    for (let attempt = 0; attempt < ENQUEUE_ATTEMPTS; attempt++) {
      const queue = await this.findOrCreate(accountSid, queueName);
      const r = await this.store.enqueue(queue.sid, callSid, this.now());
      if (r.status === 'ok') return r.place;
      if (r.status === 'full') {
        throw new MeshError('CONFLICT', `Queue "${queueName}" is full (MaxSize ${r.maxSize})`, {
          detail: { queueFull: true, queueSid: queue.sid, maxSize: r.maxSize, size: r.size },
        });
      }
      // Deleted between lookup and enqueue: drop the stale name entry (if still there) and look again.
      await this.store.forgetName(accountSid, queueName, queue.sid);
    }
    throw new MeshError('CONFLICT', `Queue "${queueName}" was deleted while calls were joining it`, { detail: { queueName } });
  }

  position(queueSid: string, callSid: string): Promise<QueuePlace | undefined> {
    return this.store.place(queueSid, callSid);
  }

  async leave(queueSid: string, callSid: string): Promise<void> {
    await this.store.removeMember(queueSid, callSid);
  }

  async dequeueFront(accountSid: string, queueName: string): Promise<{ queueSid: string; callSid: string; waitedMs: number } | undefined> {
    const queueSid = await this.store.sidByName(accountSid, queueName);
    if (queueSid === undefined) return undefined;
    const front = await this.store.popFront(queueSid);
    if (front === undefined) return undefined;
    return { queueSid, callSid: front.callSid, waitedMs: Math.max(0, Math.round(this.now() - front.enqueuedMs)) };
  }

  /** Size and average wait of the current members (the dialect's QueueSize/CurrentQueueSize and AvgQueueTime). */
  waitStats(queueSid: string): Promise<QueueWaitStats> {
    return this.store.waitStats(queueSid, this.now());
  }

  /** The queue record (MaxSize, FriendlyName), for the wait application's parameters. */
  queue(queueSid: string): Promise<QueueRecord | undefined> {
    return this.store.get(queueSid);
  }

  private async findOrCreate(accountSid: string, queueName: string): Promise<QueueRecord> {
    const sid = await this.store.sidByName(accountSid, queueName);
    if (sid !== undefined) {
      const existing = await this.store.get(sid);
      if (existing !== undefined) return existing;
      await this.store.forgetName(accountSid, queueName, sid);
    }
    const at = this.now();
    const record: QueueRecord = {
      sid: newSid('QU'),
      accountSid,
      friendlyName: queueName,
      maxSize: DEFAULT_QUEUE_MAX_SIZE,
      dateCreated: apiDate(new Date(at)),
      dateUpdated: apiDate(new Date(at)),
    };
    return (await this.store.create(record, at)).record;
  }
}

function checkQueueName(name: string): void {
  if (name.length === 0 || name.length > MAX_QUEUE_NAME_LENGTH) {
    throw new MeshError('BAD_REQUEST', `Queue name must be 1..${MAX_QUEUE_NAME_LENGTH} characters (got ${name.length})`, {
      detail: { field: 'queueName' },
    });
  }
}
