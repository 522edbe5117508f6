/**
 * Redis writes gathered for a few milliseconds and sent together.
 *
 * A signaling node writes for every call: its live state when answered and
 * ended, the index of its calls, its placement trace. One round of writes per
 * call cost a socket write, a Redis wake-up and a timeout timer each, and
 * showed as 15 % of the node's busy time at 800 calls/s. A batcher sends
 * everything queued within `batchMs` (default 10 ms) in one socket write, in
 * the order it was queued, on one connection, so a reader on that connection
 * that `flush()`es first sees its own writes, and another connection sees a
 * write at most `batchMs` later.
 *
 * The commands are sent as plain commands with the socket corked, not as an
 * ioredis pipeline: same bytes in one write, but V8 promoted nearly every
 * pipeline (its commands, their arguments, the call records in them) to the
 * old generation, where only a full GC frees it. At 800 calls/s that was 40 %
 * of all bytes promoted (benchmarks/README.md, session 8).
 *
 * Writes never block call processing: each resolves true when Redis
 * acknowledged its batch within `timeoutMs`, false on an error or timeout
 * (counted in `failures` and logged once per batch). Nothing is retried: the
 * next write of the same record replaces it.
 */
import type { Redis } from 'ioredis';
import type { Logger } from '../core/log.js';
import { MeshError } from '../core/errors.js';
import { withTimeout } from '../core/timeout.js';

export interface WriteBatcherOptions {
  /** How long writes are gathered, ms. 0: each goes out at once. Default 10. */
  batchMs?: number;
  /** A batch goes out at once when it holds this many writes. Default 500. */
  maxBatch?: number;
  /** How long a batch may wait for Redis, ms. Default 500. */
  timeoutMs?: number;
}

/**
 * The write commands a batch can carry: what the call store and the
 * placement traces use. Each returns nothing: a batch succeeds or fails as one.
 */
export interface WriteCommands {
  set(key: string, value: string, ex: 'EX', seconds: number): void;
  sadd(key: string, member: string): void;
  srem(key: string, member: string): void;
  rpush(key: string, value: string): void;
  expire(key: string, seconds: number): void;
}

interface Pending {
  build: (c: WriteCommands) => void;
  what: string;
  resolve: (ok: boolean) => void;
}

export class WriteBatcher {
  /** Writes sent (each `add`), and those that failed or timed out. */
  writes = 0;
  failures = 0;
  /** Batches sent: each one socket write. */
  batches = 0;
  private readonly opts: Required<WriteBatcherOptions>;
  private batch: Pending[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly log: Logger,
    opts: WriteBatcherOptions = {},
  ) {
    this.opts = { batchMs: 10, maxBatch: 500, timeoutMs: 500, ...opts };
  }

  /**
   * Queue a write: `build` adds its commands to the batch when the batch goes
   * out. `what` names it in a log line if its batch fails.
   */
  add(build: (c: WriteCommands) => void, what: string): Promise<boolean> {
    return new Promise((resolve) => {
      this.batch.push({ build, what, resolve });
      if (this.opts.batchMs <= 0 || this.batch.length >= this.opts.maxBatch) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.opts.batchMs);
    });
  }

  /** What operators see (`/metrics`: mesh_redis_writes_total, mesh_redis_write_failures_total). */
  get stats(): { sent: number; failed: number; batches: number; batchMs: number; timeoutMs: number } {
    return { sent: this.writes, failed: this.failures, batches: this.batches, batchMs: this.opts.batchMs, timeoutMs: this.opts.timeoutMs };
  }

  /** Send every queued write now (also what the batch timer does). */
  flush(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.batch;
    if (batch.length === 0) return;
    this.batch = [];
    this.writes += batch.length;
    this.batches++;
    const sent = sendCorked(this.redis, (c) => {
      for (const w of batch) w.build(c);
    });
    const what = batch.length === 1 ? batch[0]!.what : `${batch.length} writes (${batch[0]!.what}, …)`;
    void this.settle(sent, what, batch.length).then((ok) => {
      for (const w of batch) w.resolve(ok);
    });
  }

  private settle(sent: Promise<void>, what: string, count: number): Promise<boolean> {
    return withTimeout(sent, this.opts.timeoutMs, `redis write of ${what}`).then(
      () => true,
      (e: unknown) => {
        this.failures += count;
        this.log.warn('redis write failed', { what, timeoutMs: this.opts.timeoutMs, error: (e as Error).message });
        return false;
      },
    );
  }
}

/** Where a write goes: a connection (a batch of its own, now) or a batcher (with the others). */
export type RedisWriter = Redis | WriteBatcher;

/** Run `build`'s commands on `writer`; rejects when Redis refused one or the batch failed. */
export async function writeCommands(writer: RedisWriter, build: (c: WriteCommands) => void, what: string): Promise<void> {
  if (writer instanceof WriteBatcher) {
    if (!(await writer.add(build, what))) throw new MeshError('SERVICE_UNAVAILABLE', `redis write failed: ${what}`);
    return;
  }
  await sendCorked(writer, build);
}

/**
 * Send `build`'s commands on `redis` in one socket write, in order, no
 * MULTI/EXEC; resolves when Redis has answered them all, rejects with the
 * first it refused. While the connection is down ioredis queues them.
 */
function sendCorked(redis: Redis, build: (c: WriteCommands) => void): Promise<void> {
  const replies: Promise<unknown>[] = [];
  const commands: WriteCommands = {
    set: (key, value, ex, seconds) => void replies.push(redis.set(key, value, ex, seconds)),
    sadd: (key, member) => void replies.push(redis.sadd(key, member)),
    srem: (key, member) => void replies.push(redis.srem(key, member)),
    rpush: (key, value) => void replies.push(redis.rpush(key, value)),
    expire: (key, seconds) => void replies.push(redis.expire(key, seconds)),
  };
  // ioredis has no stream before its first connect (lazyConnect); uncork what was corked.
  const stream = redis.stream as Redis['stream'] | undefined;
  stream?.cork();
  try {
    build(commands);
  } finally {
    stream?.uncork();
  }
  return Promise.all(replies).then(() => undefined);
}
