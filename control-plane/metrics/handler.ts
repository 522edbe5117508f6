/**
 * GET /metrics as a hono handler (the lead mounts it). A Redis failure is a
 * 503 so the scrape is marked failed instead of showing a partial picture.
 */
import type { Handler } from 'hono';
import type { Redis } from 'ioredis';
import { CONTENT_TYPE } from './exposition.js';
import { renderMetrics, type ExtraMetrics, type RenderOptions } from './render.js';

export interface MetricsHandlerDeps extends RenderOptions {
  redis: Redis;
  keyPrefix: string;
  /** The control plane's own series, read at each scrape. */
  extra?: () => ExtraMetrics | undefined | Promise<ExtraMetrics | undefined>;
  /** Called with a Redis error before the 503. Default: ignore. */
  onError?: (error: unknown) => void;
}

export function metricsHandler(deps: MetricsHandlerDeps): Handler {
  return async (c) => {
    try {
      const body = await renderMetrics(deps.redis, deps.keyPrefix, await deps.extra?.(), deps);
      return c.body(body, 200, { 'Content-Type': CONTENT_TYPE });
    } catch (error) {
      deps.onError?.(error);
      return c.json({ code: 'SERVICE_UNAVAILABLE', message: 'metrics store unavailable', status: 503 }, 503);
    }
  };
}
