/**
 * The registration handle every discovery adapter returns: a heartbeat every
 * ttl/3 (two can be lost or slow before the instance counts as dead), failed
 * heartbeats counted and reported, an idempotent close() that leaves. What a
 * heartbeat is (a Redis script, an etcd lease keep-alive, a Consul TTL check
 * pass) is the adapter's.
 */
import { MeshError } from '../core/errors.js';
import type { Registration, ServiceInstance } from './types.js';

export interface HeartbeatHooks {
  /** One heartbeat; resolves false when the instance is no longer registered (heartbeats then stop). */
  beat(): Promise<boolean>;
  /** Deregister, unless the id was registered again since. */
  leave(reg: HeartbeatRegistration): Promise<void>;
  reportError(e: unknown, what: string): void;
}

export class HeartbeatRegistration implements Registration {
  failedHeartbeats = 0;
  private timer: NodeJS.Timeout | undefined;
  private closing: Promise<void> | undefined;

  constructor(
    readonly instance: ServiceInstance,
    private readonly ttlMs: number,
    private readonly hooks: HeartbeatHooks,
  ) {}

  startHeartbeats(): void {
    if (this.timer !== undefined || this.closing !== undefined) return;
    this.timer = setInterval(() => {
      this.hooks.beat().then(
        (stillRegistered) => {
          if (!stillRegistered) this.stopHeartbeats();
        },
        (e: unknown) => {
          this.failedHeartbeats++;
          this.hooks.reportError(e, `heartbeat ${this.instance.id}`);
        },
      );
    }, Math.floor(this.ttlMs / 3));
    this.timer.unref?.();
  }

  stopHeartbeats(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  close(): Promise<void> {
    if (this.closing === undefined) {
      this.stopHeartbeats();
      this.closing = this.hooks.leave(this);
    }
    return this.closing;
  }
}

/** Hand an adapter error to the user's onError as a MeshError; a throwing handler cannot stop heartbeats. */
export function reportDiscoveryError(onError: ((error: MeshError, what: string) => void) | undefined, e: unknown, what: string): void {
  const err = e instanceof MeshError ? e : new MeshError('SERVICE_UNAVAILABLE', `${what}: ${String(e)}`, { cause: e });
  try {
    onError?.(err, what);
  } catch {
    // A failing logger must not stop heartbeats.
  }
}
