/**
 * Which recording branches the central service has confirmed (their upload
 * checksum matched), as this process saw it, and who waits for which:
 * `whenDelivered` for tests and operators, fed by the uploader's
 * confirmations through `confirm`.
 */
import { MeshError } from '../../regions/core/errors.js';
import type { DeliveredBranch } from './types.js';

/** Delivery outcomes remembered for whenDelivered(). */
const MAX_REMEMBERED_DELIVERIES = 1000;

type Waiter = (d: DeliveredBranch | MeshError) => void;

export class BranchDeliveries {
  private readonly delivered = new Map<string, DeliveredBranch>();
  private readonly waiters = new Map<string, Waiter[]>();
  private refusing = false;

  /** Remember a confirmed branch (the latest MAX_REMEMBERED_DELIVERIES) and wake whoever waits for it. */
  confirm(d: DeliveredBranch): void {
    const key = `${d.callSid}/${d.branchId}`;
    this.delivered.set(key, d);
    if (this.delivered.size > MAX_REMEMBERED_DELIVERIES) this.delivered.delete(this.delivered.keys().next().value as string);
    const waiters = this.waiters.get(key) ?? [];
    this.waiters.delete(key);
    for (const w of waiters) w(d);
  }

  /** Resolves when the branch is confirmed (at once if it already was), or rejects after timeoutMs. */
  whenDelivered(callSid: string, branchId: string, timeoutMs: number): Promise<DeliveredBranch> {
    const key = `${callSid}/${branchId}`;
    const done = this.delivered.get(key);
    if (done !== undefined) return Promise.resolve(done);
    return new Promise((resolve, reject) => {
      if (this.refusing) return reject(new MeshError('CLOSED', 'branch recorder closed'));
      const timer = setTimeout(() => {
        const rest = (this.waiters.get(key) ?? []).filter((w) => w !== waiter);
        if (rest.length > 0) this.waiters.set(key, rest);
        else this.waiters.delete(key);
        reject(new MeshError('UPSTREAM_TIMEOUT', `branch ${key} not delivered within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter: Waiter = (d) => {
        clearTimeout(timer);
        if (d instanceof MeshError) reject(d);
        else resolve(d);
      };
      this.waiters.set(key, [...(this.waiters.get(key) ?? []), waiter]);
    });
  }

  /** The recorder is closing: new waits for unconfirmed branches fail with CLOSED (confirmations still wake current waiters). */
  refuseNew(): void {
    this.refusing = true;
  }

  /** Reject every current waiter with CLOSED. Idempotent. */
  close(): void {
    this.refusing = true;
    const closed = new MeshError('CLOSED', 'branch recorder closed');
    for (const list of this.waiters.values()) for (const w of list) w(closed);
    this.waiters.clear();
  }
}
