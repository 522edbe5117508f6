/**
 * The last takeover of a signaling node by its standby, written by the
 * standby once it serves the node's address with the calls adopted, read by
 * the operator API (a kill drill that waits for its effect). Times are the
 * standby's clock, ms since the epoch; the record lives an hour.
 */
import type { Redis } from 'ioredis';
import { keys } from './keys.js';

export interface TakeoverRecord {
  nodeId: string;
  /** Process that took over. */
  pid: number;
  /** When it took the node's lease. */
  leaseAt: number;
  /** When it served the address with the calls adopted. */
  readyAt: number;
  adopted: number;
  skipped: number;
  /** Adopted calls whose media node was down, handed to re-anchoring. */
  reanchoring: number;
}

const TTL_SECONDS = 3600;

export async function recordTakeover(redis: Redis, keyPrefix: string, rec: TakeoverRecord): Promise<void> {
  await redis.set(keys(keyPrefix).signalingTakeover(rec.nodeId), JSON.stringify(rec), 'EX', TTL_SECONDS);
}

/** The node's last takeover; undefined when none is recorded (or the record is unreadable). */
export async function lastTakeover(redis: Redis, keyPrefix: string, nodeId: string): Promise<TakeoverRecord | undefined> {
  const v = await redis.get(keys(keyPrefix).signalingTakeover(nodeId));
  if (v === null) return undefined;
  try {
    const r = JSON.parse(v) as Partial<TakeoverRecord>;
    const num = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
    if (!num(r.pid) || !num(r.leaseAt) || !num(r.readyAt) || !num(r.adopted)) return undefined;
    return { nodeId, pid: r.pid, leaseAt: r.leaseAt, readyAt: r.readyAt, adopted: r.adopted, skipped: num(r.skipped) ? r.skipped : 0, reanchoring: num(r.reanchoring) ? r.reanchoring : 0 };
  } catch {
    return undefined;
  }
}
