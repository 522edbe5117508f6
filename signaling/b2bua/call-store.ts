/**
 * Live call state in Redis, so another signaling node of the region can see
 * (and, after a failover, take over) every call. One hash per call, an index
 * set per node. Writes have a timeout and never block call processing: a slow
 * or dead Redis costs visibility, not calls; failures are counted and logged.
 *
 * Writes are gathered for `batchMs` (default 10 ms) and sent as one pipeline:
 * at hundreds of calls per second that is one socket write (and one Redis
 * wake-up, one timeout timer) for many calls instead of one per call, which
 * was a tenth of the node's CPU. Order is kept: one connection, one pipeline
 * in the order the saves were made, and a read through the store sends the
 * waiting saves first, so it sees its own writes; another connection (a
 * standby) sees a save at most `batchMs` later.
 */
import type { SipTransportName } from '../sip/message/types.js';
import type { Redis } from 'ioredis';
import type { Logger } from '../../regions/core/log.js';
import { keys } from '../../regions/store/keys.js';

export interface StoredCall {
  callSid: string;
  nodeId: string;
  region: string;
  state: string;
  from: string;
  to: string;
  aCallId: string;
  bCallId: string;
  mediaNodeId: string;
  createdAt: number;
  answeredAt?: number;
  endedAt?: number;
  endReason?: string;
  /** Serialised dialogs (Dialog.toJSON()) of both legs once they exist. */
  aDialog?: unknown;
  bDialog?: unknown;
  /** Where the caller's requests came from (in-dialog requests to A go back there). */
  aSource?: StoredEndpoint;
  /** Where the B leg goes. */
  bDest?: StoredEndpoint;
  /** Tags: the caller's From tag, our To tag on A, our From tag on B, the callee's To tag. */
  aRemoteTag?: string;
  aLocalTag?: string;
  bLocalTag?: string;
  bRemoteTag?: string;
  /** Last SDP from / to each party, for a re-anchor after a takeover (see Call.sdp). */
  sdp?: { fromA?: string | undefined; fromB?: string | undefined; toA?: string | undefined; toB?: string | undefined };
}

export interface StoredEndpoint {
  /** WS/WSS endpoints name a connection of the node that stored them (a standby cannot reach them). */
  transport: SipTransportName;
  address: string;
  port: number;
}

export interface CallStoreOptions {
  keyPrefix: string;
  nodeId: string;
  /** Per-write timeout. Default 500 ms. */
  timeoutMs?: number;
  /** How long a finished call stays readable. Default 3600 s. */
  endedTtlSeconds?: number;
  /** Safety TTL on live calls so a crashed node cannot leak keys forever. Default 24 h. */
  liveTtlSeconds?: number;
  /** How long saves are gathered before they go out in one pipeline, ms. 0: each save at once. Default 10. */
  batchMs?: number;
  /** A batch goes out at once when it holds this many saves. Default 500. */
  maxBatch?: number;
}

interface PendingSave {
  callSid: string;
  ended: boolean;
  /** The record, serialised when save() was called. */
  json: string;
  resolve: (ok: boolean) => void;
}

export class CallStore {
  private readonly redis: Redis;
  private readonly log: Logger;
  private readonly opts: Required<CallStoreOptions>;
  failures = 0;
  writes = 0;
  /** Saves waiting for the batch to go out. */
  private batch: PendingSave[] = [];
  private batchTimer: NodeJS.Timeout | undefined;

  constructor(redis: Redis, log: Logger, opts: CallStoreOptions) {
    this.redis = redis;
    this.log = log;
    this.opts = { timeoutMs: 500, endedTtlSeconds: 3600, liveTtlSeconds: 86400, batchMs: 10, maxBatch: 500, ...opts };
  }

  key(callSid: string): string {
    return keys(this.opts.keyPrefix).liveCall(callSid);
  }

  activeSetKey(nodeId = this.opts.nodeId): string {
    return keys(this.opts.keyPrefix).nodeLiveCalls(nodeId);
  }

  /**
   * Write (or update) a live call. Resolves true when Redis acknowledged it in
   * time (batchMs + timeoutMs at most). The record is serialised now: later
   * changes to `call` do not reach this write.
   */
  save(call: StoredCall): Promise<boolean> {
    const json = JSON.stringify(call);
    return new Promise((resolve) => {
      this.batch.push({ callSid: call.callSid, ended: call.endedAt !== undefined, json, resolve });
      if (this.opts.batchMs <= 0 || this.batch.length >= this.opts.maxBatch) this.flush();
      else this.batchTimer ??= setTimeout(() => this.flush(), this.opts.batchMs);
    });
  }

  /** Send every waiting save now (also called by the batch timer). */
  flush(): void {
    if (this.batchTimer !== undefined) clearTimeout(this.batchTimer);
    this.batchTimer = undefined;
    const batch = this.batch;
    if (batch.length === 0) return;
    this.batch = [];
    // Plain commands in one pipeline: no MULTI/EXEC. Order is kept on one connection,
    // so a reader never sees the index without the record.
    const p = this.redis.pipeline();
    const activeSet = this.activeSetKey();
    for (const s of batch) {
      p.set(this.key(s.callSid), s.json, 'EX', s.ended ? this.opts.endedTtlSeconds : this.opts.liveTtlSeconds);
      if (s.ended) p.srem(activeSet, s.callSid);
      else p.sadd(activeSet, s.callSid);
    }
    const write = p.exec().then((results) => {
      const failed = results?.find(([e]) => e !== null)?.[0];
      if (failed) throw failed;
      return true;
    });
    const what = batch.length === 1 ? `save ${batch[0]!.callSid}` : `save of ${batch.length} calls`;
    void this.withTimeout(write, what, batch.length).then((ok) => {
      for (const s of batch) s.resolve(ok);
    });
  }

  async load(callSid: string): Promise<StoredCall | undefined> {
    // Waiting saves go first, on the same connection: a read through this store sees its own writes.
    this.flush();
    const v = await this.redis.get(this.key(callSid));
    return v === null ? undefined : (JSON.parse(v) as StoredCall);
  }

  async listActive(nodeId = this.opts.nodeId): Promise<string[]> {
    this.flush(); // see load()
    return this.redis.smembers(this.activeSetKey(nodeId));
  }

  /**
   * Every live call record of a node, read in batches of `batch` (one MGET
   * each). Index entries whose record is gone are skipped. Used by a standby
   * taking over the node's calls.
   */
  async loadActive(nodeId = this.opts.nodeId, batch = 500): Promise<StoredCall[]> {
    const sids = await this.listActive(nodeId);
    const out: StoredCall[] = [];
    for (let i = 0; i < sids.length; i += batch) {
      const keys = sids.slice(i, i + batch).map((sid) => this.key(sid));
      const values = await this.redis.mget(...keys);
      for (const v of values) {
        if (v === null) continue;
        try {
          out.push(JSON.parse(v) as StoredCall);
        } catch (e) {
          this.log.warn('unreadable call record skipped', { error: (e as Error).message });
        }
      }
    }
    return out;
  }

  /** `count`: the saves this write carries (counted in `writes` and, on failure, in `failures`). */
  private withTimeout(p: Promise<boolean>, what: string, count: number): Promise<boolean> {
    this.writes += count;
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.failures += count;
        this.log.warn('redis write timed out', { what, timeoutMs: this.opts.timeoutMs });
        resolve(false);
      }, this.opts.timeoutMs);
      p.then(
        (ok) => {
          clearTimeout(t);
          resolve(ok);
        },
        (e: unknown) => {
          clearTimeout(t);
          this.failures += count;
          this.log.warn('redis write failed', { what, error: (e as Error).message });
          resolve(false);
        },
      );
    });
  }
}
