/**
 * Publishes a signaling node's NodeMetricsSnapshot to Redis for /metrics:
 * SET with EX (so a dead node's numbers vanish by themselves) and SADD of the
 * node id to the index set. Metrics are best effort: a Redis failure or a
 * throwing snapshot() is logged and skipped, never thrown into the node.
 */
import type { Redis } from 'ioredis';
import { keys, type NodeMetricsSnapshot } from '../regions/store/schema.js';
import { silentLogger, type Logger } from '../regions/core/log.js';

export interface MetricsPublisherOptions {
  redis: Redis;
  keyPrefix: string;
  /** How often to publish, ms. Default 2000. */
  intervalMs?: number;
  /** TTL of the snapshot key, seconds. Default 15 (the renderer also skips snapshots older than 15 s). */
  ttlSeconds?: number;
  /** Longest one publish may take before it is abandoned, ms. Default intervalMs. */
  timeoutMs?: number;
  snapshot: () => NodeMetricsSnapshot;
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
    const snap = opts.snapshot();
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
