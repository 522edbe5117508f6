/**
 * Drained nodes (the owner of the `drained` key): explicit operator state set
 * by the drain drill and cleared only by undrain (POST /v1/drills). A drained
 * signaling node refuses new calls (503 + Retry-After) while its calls finish;
 * a drained media node keeps its calls and gets no new ones. Every signaling
 * node re-reads the set every few seconds; the control plane shows it in
 * /v1/regions/{region}/nodes. It lives in Redis, so it survives restarts of
 * the nodes and of Redis itself (AOF): the launcher prints it at start.
 * Stored as a hash node id → ISO time of the drain, bounded to MAX_DRAINED_NODES.
 */
import type { Redis } from 'ioredis';
import { MeshError } from '../core/errors.js';
import { keys } from './keys.js';

/** Most nodes drained at once. */
export const MAX_DRAINED_NODES = 1024;
/** Node ids as discovery and the catalog carry them. */
const NODE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export interface DrainedNode {
  nodeId: string;
  /** ISO 8601 time of the drain; null when the stored value is not one. */
  since: string | null;
}

function checkId(nodeId: string): void {
  if (!NODE_ID.test(nodeId)) throw new MeshError('BAD_REQUEST', `invalid node id ${JSON.stringify(nodeId.slice(0, 140))}`, { detail: { field: 'nodeId' } });
}

/**
 * Drain a node. Idempotent: a node already drained keeps its first time.
 * Resolves with the time it is drained since. CONFLICT when MAX_DRAINED_NODES others are drained.
 */
export async function drainNode(redis: Redis, prefix: string, nodeId: string, now = new Date()): Promise<string> {
  checkId(nodeId);
  const key = keys(prefix).drainedNodes();
  const existing = await redis.hget(key, nodeId);
  if (existing !== null) return existing;
  if ((await redis.hlen(key)) >= MAX_DRAINED_NODES) throw new MeshError('CONFLICT', `at most ${MAX_DRAINED_NODES} nodes may be drained at once`);
  const since = now.toISOString();
  await redis.hsetnx(key, nodeId, since);
  return (await redis.hget(key, nodeId)) ?? since;
}

/** Undrain a node; resolves true when it was drained. Idempotent. */
export async function undrainNode(redis: Redis, prefix: string, nodeId: string): Promise<boolean> {
  checkId(nodeId);
  return (await redis.hdel(keys(prefix).drainedNodes(), nodeId)) === 1;
}

/** Every drained node, sorted by id (at most MAX_DRAINED_NODES); invalid ids are skipped. */
export async function listDrainedNodes(redis: Redis, prefix: string): Promise<DrainedNode[]> {
  const all = await redis.hgetall(keys(prefix).drainedNodes());
  const out: DrainedNode[] = [];
  for (const nodeId of Object.keys(all).sort()) {
    if (!NODE_ID.test(nodeId)) continue; // hand-edited junk is never applied
    const v = all[nodeId]!;
    out.push({ nodeId, since: Number.isNaN(Date.parse(v)) ? null : v });
    if (out.length >= MAX_DRAINED_NODES) break;
  }
  return out;
}
