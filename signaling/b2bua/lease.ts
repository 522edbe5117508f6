/**
 * The lease that says which process serves a signaling node's address. The
 * active process holds a Redis key (`SET key holder PX ttl`) and renews it
 * every ttl/3; a standby of the same node polls the key and, once it has
 * expired (the active died or lost Redis for longer than a ttl), takes it
 * with `SET NX` and then takes over the address and the live calls.
 *
 * Renewal only extends a lease we still hold (compare-and-extend in one Lua
 * script): an active that finds someone else holding it has been replaced and
 * must stop serving at once (`onLost`), or two processes would answer for the
 * same dialogs.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import type { Logger } from '../../regions/core/log.js';
import { MeshError } from '../../regions/core/errors.js';

export interface SignalingLeaseOptions {
  /** Redis key of the lease, e.g. `mesh:sig-lease:us-east-sig-1`. */
  key: string;
  /** Lease time to live. Default 3000 ms. */
  ttlMs?: number;
  /** How often a standby looks at the lease. Default ttl/6. */
  pollMs?: number;
  /** Who we are; written as the lease value. Default `<hostname>:<pid>:<random>`. */
  holder?: string;
}

/** 1 when the key was ours and is extended, 0 when someone else holds it, -1 when it is gone (and is now ours again). */
const RENEW_SCRIPT = `
local v = redis.call('GET', KEYS[1])
if v == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
if v == false then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return -1 end
return 0`;

/** Delete the key only when it is ours. */
const RELEASE_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/** The process id in a lease holder written by this class (`<host>:<pid>:<random>`); undefined for anything else. */
export function leaseHolderPid(holder: string | null): number | undefined {
  const m = holder === null ? null : /^[^:]*:(\d{1,10}):[0-9a-f]{8}$/.exec(holder);
  if (m === null) return undefined;
  const pid = Number(m[1]);
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}

export class SignalingLease {
  readonly key: string;
  readonly holder: string;
  readonly ttlMs: number;
  private readonly pollMs: number;
  private renewTimer: NodeJS.Timeout | undefined;
  private held = false;
  private closed = false;
  /** Renewals that failed on a Redis error (the lease may still be ours). */
  renewFailures = 0;

  constructor(
    private readonly redis: Redis,
    private readonly log: Logger,
    opts: SignalingLeaseOptions,
  ) {
    this.key = opts.key;
    this.ttlMs = opts.ttlMs ?? 3000;
    if (!Number.isInteger(this.ttlMs) || this.ttlMs < 300) throw new MeshError('CONFIG_INVALID', `lease ttl must be an integer ≥ 300 ms, got ${this.ttlMs}`);
    this.pollMs = opts.pollMs ?? Math.max(50, Math.floor(this.ttlMs / 6));
    this.holder = opts.holder ?? `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  }

  get isHeld(): boolean {
    return this.held;
  }

  /** Take the lease if nobody holds it. */
  async tryAcquire(): Promise<boolean> {
    const r = await this.redis.set(this.key, this.holder, 'PX', this.ttlMs, 'NX');
    this.held = r === 'OK';
    return this.held;
  }

  /** Take the lease whoever holds it: the active process at start, once it owns the address. */
  async seize(): Promise<void> {
    await this.redis.set(this.key, this.holder, 'PX', this.ttlMs);
    this.held = true;
  }

  /**
   * Poll until the lease is free and ours. Redis errors are retried on the
   * next poll; rejects with CLOSED when close() is called meanwhile.
   */
  async waitUntilAcquired(): Promise<void> {
    for (;;) {
      if (this.closed) throw new MeshError('CLOSED', 'lease closed while waiting');
      try {
        if (await this.tryAcquire()) return;
      } catch (e) {
        this.log.debug('lease poll failed', { key: this.key, error: e as Error });
      }
      await new Promise((r) => setTimeout(r, this.pollMs).unref());
    }
  }

  /** Renew every ttl/3 until close(); `onLost` runs once if another holder is found. */
  startRenewing(onLost: (holder: string | null) => void): void {
    if (this.renewTimer !== undefined || this.closed) return;
    const renew = async (): Promise<void> => {
      try {
        const r = (await this.redis.eval(RENEW_SCRIPT, 1, this.key, this.holder, String(this.ttlMs))) as number;
        if (r === -1) this.log.warn('lease had expired; taken again', { key: this.key });
        if (r === 0 && this.held) {
          this.held = false;
          this.stopRenewing();
          const other = await this.redis.get(this.key).catch(() => null);
          this.log.error('lease lost to another process', { key: this.key, holder: other });
          onLost(other);
        }
      } catch (e) {
        this.renewFailures++;
        this.log.warn('lease renewal failed', { key: this.key, error: e as Error });
      }
    };
    this.renewTimer = setInterval(() => void renew(), Math.max(50, Math.floor(this.ttlMs / 3)));
    this.renewTimer.unref();
  }

  private stopRenewing(): void {
    if (this.renewTimer !== undefined) clearInterval(this.renewTimer);
    this.renewTimer = undefined;
  }

  /** Stop renewing and, when it is ours, delete the lease so a standby need not wait for it to expire. Idempotent. */
  async close(opts: { release?: boolean } = {}): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopRenewing();
    if (this.held && opts.release !== false) {
      this.held = false;
      try {
        await this.redis.eval(RELEASE_SCRIPT, 1, this.key, this.holder);
      } catch (e) {
        this.log.debug('lease release failed; it will expire', { key: this.key, error: e as Error });
      }
    }
  }
}
