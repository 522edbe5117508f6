/**
 * Node metric snapshots in Redis, writer and reader in one place (the owner of
 * the `metrics:*` keys). A signaling node publishes its NodeMetricsSnapshot:
 * SET with EX (so a dead node's numbers vanish by themselves) and SADD of the
 * node id to the index set. Metrics are best effort: a Redis failure or a
 * throwing snapshot() is logged and skipped, never thrown into the node. The
 * control plane reads every fresh snapshot for /metrics and /v1.
 */
import type { Redis } from 'ioredis';
import { silentLogger, type Logger } from '../core/log.js';
import { parsePromFamilies } from '../core/metrics.js';
import { keys } from './keys.js';
import type { NodeMetricsSnapshot } from './schema.js';

/** Snapshots whose `at` is older than this are skipped (matches the publisher's 15 s TTL). */
export const DEFAULT_STALE_MS = 15_000;
/** Upper bound on snapshots read per scrape. */
export const MAX_NODES = 1000;
const MGET_CHUNK = 200;
export interface SnapshotReadOptions {
  now?: () => number;
  staleMs?: number;
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;

function isCountRecord(v: unknown): v is Record<string, number> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).every(isCount);
}

/** Shape check of a stored snapshot; anything else (hand-edited, older format) is skipped, never rendered half-way. */
export function parseSnapshot(json: string): NodeMetricsSnapshot | undefined {
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const s = v as Record<string, unknown>;
  if (typeof s.nodeId !== 'string' || typeof s.region !== 'string' || typeof s.at !== 'number') return undefined;
  if (!isCount(s.activeCalls) || !isCount(s.callAttempts)) return undefined;
  if (!isCountRecord(s.callFailures) || !isCountRecord(s.placements)) return undefined;
  const w = s.webhook as Record<string, unknown> | undefined;
  if (typeof w !== 'object' || w === null || !isCount(w.requests) || !isCount(w.failures) || !isCount(w.latencySumMs)) {
    return undefined;
  }
  if (s.sip !== undefined) {
    const sip = s.sip as Record<string, unknown> | null;
    if (typeof sip !== 'object' || sip === null || !isCountRecord(sip.dropped) || !isCountRecord(sip.rejected) || !isCount(sip.oversized)) {
      return undefined;
    }
  }
  if (s.byes !== undefined) {
    const b = s.byes as Record<string, unknown> | null;
    if (typeof b !== 'object' || b === null || !isCount(b.retried) || !isCount(b.gaveUp) || !isCount(b.answeredAfterRetry) || !isCount(b.pending)) {
      return undefined;
    }
  }
  if (s.redisWrites !== undefined) {
    const r = s.redisWrites as Record<string, unknown> | null;
    if (typeof r !== 'object' || r === null || !isCount(r.sent) || !isCount(r.failed) || !isCount(r.batchMs) || !isCount(r.timeoutMs)) return undefined;
  }
  if (s.websocket !== undefined) {
    const ws = s.websocket as Record<string, unknown> | null;
    const counts = ['maxConnections', 'connections', 'bindings', 'registered', 'unregistered', 'connectionClosed'];
    if (typeof ws !== 'object' || ws === null || !counts.every((k) => isCount(ws[k])) || !isCountRecord(ws.refused) || !isCountRecord(ws.registerRefused)) {
      return undefined;
    }
  }
  const ng = s.ngLatency;
  if (typeof ng !== 'object' || ng === null || Array.isArray(ng)) return undefined;
  for (const h of Object.values(ng as Record<string, unknown>)) {
    const hist = h as Record<string, unknown> | null;
    if (typeof hist !== 'object' || hist === null || !isCountRecord(hist.buckets) || !isCount(hist.sumMs) || !isCount(hist.count)) {
      return undefined;
    }
  }
  const snap = v as NodeMetricsSnapshot;
  if (s.prom !== undefined) snap.prom = parsePromFamilies(s.prom);
  return snap;
}


export interface MetricsPublisherOptions {
  redis: Redis;
  keyPrefix: string;
  /** How often to publish, ms. Default 2000. */
  intervalMs?: number;
  /** TTL of the snapshot key, seconds. Default 15 (the renderer also skips snapshots older than 15 s). */
  ttlSeconds?: number;
  /** Longest one publish may take before it is abandoned, ms. Default intervalMs. */
  timeoutMs?: number;
  /** Read at each publish; may be async (prom-client collects asynchronously). */
  snapshot: () => NodeMetricsSnapshot | Promise<NodeMetricsSnapshot>;
  log?: Logger;
}

export interface MetricsPublisher {
  /** Stops publishing and waits for a publish in flight (bounded by timeoutMs). Idempotent; deletes nothing. */
  close(): Promise<void>;
}

export function startMetricsPublisher(opts: MetricsPublisherOptions): MetricsPublisher {
  const intervalMs = opts.intervalMs ?? 2000;
  const ttlSeconds = opts.ttlSeconds ?? 15;
  const timeoutMs = opts.timeoutMs ?? intervalMs;
  const log = opts.log ?? silentLogger;
  const k = keys(opts.keyPrefix);
  let inFlight: Promise<void> | undefined;
  let closed = false;
  let closing: Promise<void> | undefined;

  const publishOnce = async (): Promise<void> => {
    const snap = await opts.snapshot();
    const write = opts.redis
      .multi()
      .set(k.nodeMetrics(snap.nodeId), JSON.stringify(snap), 'EX', ttlSeconds)
      .sadd(k.metricsNodes(), snap.nodeId)
      .exec()
      .then((replies) => {
        const failed = replies?.find(([err]) => err !== null);
        if (replies === null || failed !== undefined) throw failed?.[0] ?? new Error('transaction aborted');
      });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`metrics publish timed out after ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([write, timeout]);
    } finally {
      clearTimeout(timer);
      // A write abandoned by the timeout may still reject later; it has been reported already.
      write.catch(() => {});
    }
  };

  const tick = (): void => {
    // Skip a tick rather than queue: publishes must not pile up behind a slow Redis.
    if (closed || inFlight !== undefined) return;
    inFlight = (async () => {
      try {
        await publishOnce();
      } catch (error) {
        log.warn('metrics publish failed', { error: error instanceof Error ? error.message : String(error) });
      } finally {
        inFlight = undefined;
      }
    })();
  };

  const interval = setInterval(tick, intervalMs);
  interval.unref();
  tick();

  return {
    close(): Promise<void> {
      if (closing !== undefined) return closing;
      closed = true;
      clearInterval(interval);
      closing = (inFlight ?? Promise.resolve()).then(() => undefined);
      return closing;
    },
  };
}

/** Read every fresh snapshot; ids whose key has expired are removed from the index set so it stays bounded. */
export async function readSnapshots(
  redis: Redis,
  keyPrefix: string,
  opts: SnapshotReadOptions = {},
): Promise<NodeMetricsSnapshot[]> {
  const k = keys(keyPrefix);
  const now = (opts.now ?? Date.now)();
  const staleMs = opts.staleMs ?? DEFAULT_STALE_MS;
  const ids = (await redis.smembers(k.metricsNodes())).sort().slice(0, MAX_NODES);
  const snapshots: NodeMetricsSnapshot[] = [];
  const gone: string[] = [];
  for (let i = 0; i < ids.length; i += MGET_CHUNK) {
    const chunk = ids.slice(i, i + MGET_CHUNK);
    const values = await redis.mget(...chunk.map((id) => k.nodeMetrics(id)));
    chunk.forEach((id, j) => {
      const raw = values[j];
      if (raw === null || raw === undefined) {
        gone.push(id);
        return;
      }
      const snap = parseSnapshot(raw);
      if (snap === undefined || now - snap.at > staleMs) return;
      snapshots.push(snap);
    });
  }
  if (gone.length > 0) await redis.srem(k.metricsNodes(), ...gone);
  return snapshots;
}
