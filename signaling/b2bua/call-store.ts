/**
 * Live call state in Redis, so another signaling node of the region can see
 * (and, after a failover, take over) every call. One hash per call, an index
 * set per node. Writes have a timeout and never block call processing: a slow
 * or dead Redis costs visibility, not calls; failures are counted and logged.
 *
 * Writes go through a WriteBatcher (regions/store/write-batcher.ts): gathered
 * for `batchMs` (default 10 ms) and sent in one socket write, in order, on one
 * connection. A read through the store sends the waiting writes first, so it
 * sees its own writes; another connection (a standby) sees a save at most
 * `batchMs` later. The node shares its batcher with the placement traces.
 */
import type { SipTransportName } from '../sip/message/types.js';
import type { Redis } from 'ioredis';
import type { Logger } from '../../regions/core/log.js';
import { keys } from '../../regions/store/keys.js';
import { WriteBatcher } from '../../regions/store/write-batcher.js';

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
  /** Per-write timeout. Default 500 ms (without `batcher`; a shared one has its own). */
  timeoutMs?: number;
  /** How long a finished call stays readable. Default 3600 s. */
  endedTtlSeconds?: number;
  /** Safety TTL on live calls so a crashed node cannot leak keys forever. Default 24 h. */
  liveTtlSeconds?: number;
  /** How long saves are gathered before they go out together, ms. 0: each save at once. Default 10 (without `batcher`). */
  batchMs?: number;
  /** A batch goes out at once when it holds this many saves. Default 500 (without `batcher`). */
  maxBatch?: number;
  /** The node's shared batcher; without one the store makes its own from the options above. */
  batcher?: WriteBatcher;
}

export class CallStore {
  private readonly redis: Redis;
  private readonly log: Logger;
  private readonly opts: Required<Omit<CallStoreOptions, 'batcher'>>;
  private readonly batcher: WriteBatcher;
  /** Saves sent, and those that failed or timed out. */
  failures = 0;
  writes = 0;

  constructor(redis: Redis, log: Logger, opts: CallStoreOptions) {
    this.redis = redis;
    this.log = log;
    const { batcher, ...rest } = opts;
    this.opts = { timeoutMs: 500, endedTtlSeconds: 3600, liveTtlSeconds: 86400, batchMs: 10, maxBatch: 500, ...rest };
    this.batcher = batcher ?? new WriteBatcher(redis, log, { batchMs: this.opts.batchMs, maxBatch: this.opts.maxBatch, timeoutMs: this.opts.timeoutMs });
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
    const ended = call.endedAt !== undefined;
    const key = this.key(call.callSid);
    const ttl = ended ? this.opts.endedTtlSeconds : this.opts.liveTtlSeconds;
    const activeSet = this.activeSetKey();
    const sid = call.callSid;
    this.writes++;
    return this.batcher
      .add((c) => {
        // The record before the index: a reader never sees the index without the record.
        c.set(key, json, 'EX', ttl);
        if (ended) c.srem(activeSet, sid);
        else c.sadd(activeSet, sid);
      }, `save ${sid}`)
      .then((ok) => {
        if (!ok) this.failures++;
        return ok;
      });
  }

  /** Send every waiting write now. */
  flush(): void {
    this.batcher.flush();
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
}
