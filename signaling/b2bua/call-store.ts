/**
 * Live call state in Redis, so another signaling node of the region can see
 * (and, after a failover, take over) every call. One hash per call, an index
 * set per node. Writes have a timeout and never block call processing: a slow
 * or dead Redis costs visibility, not calls; failures are counted and logged.
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
}

export class CallStore {
  private readonly redis: Redis;
  private readonly log: Logger;
  private readonly opts: Required<CallStoreOptions>;
  failures = 0;
  writes = 0;

  constructor(redis: Redis, log: Logger, opts: CallStoreOptions) {
    this.redis = redis;
    this.log = log;
    this.opts = { timeoutMs: 500, endedTtlSeconds: 3600, liveTtlSeconds: 86400, ...opts };
  }

  key(callSid: string): string {
    return keys(this.opts.keyPrefix).liveCall(callSid);
  }

  activeSetKey(nodeId = this.opts.nodeId): string {
    return keys(this.opts.keyPrefix).nodeLiveCalls(nodeId);
  }

  /** Write (or update) a live call. Resolves true when Redis acknowledged it in time. */
  save(call: StoredCall): Promise<boolean> {
    const k = this.key(call.callSid);
    const ended = call.endedAt !== undefined;
    // Two plain commands, auto-pipelined by the client: no MULTI/EXEC round trip per call.
    // Order is kept on one connection, so a reader never sees the index without the record.
    const write = Promise.all([
      this.redis.set(k, JSON.stringify(call), 'EX', ended ? this.opts.endedTtlSeconds : this.opts.liveTtlSeconds),
      ended ? this.redis.srem(this.activeSetKey(), call.callSid) : this.redis.sadd(this.activeSetKey(), call.callSid),
    ]);
    return this.withTimeout(write.then(() => true), `save ${call.callSid}`);
  }

  async load(callSid: string): Promise<StoredCall | undefined> {
    const v = await this.redis.get(this.key(callSid));
    return v === null ? undefined : (JSON.parse(v) as StoredCall);
  }

  async listActive(nodeId = this.opts.nodeId): Promise<string[]> {
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

  private withTimeout(p: Promise<boolean>, what: string): Promise<boolean> {
    this.writes++;
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.failures++;
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
          this.failures++;
          this.log.warn('redis write failed', { what, error: (e as Error).message });
          resolve(false);
        },
      );
    });
  }
}
