/**
 * Counts HTTP API requests by API, method and status for /metrics. Cardinality
 * is bounded: methods outside the standard set count as `OTHER`, and at most
 * MAX_SERIES distinct series are kept (later ones count under status 0).
 */
import type { MiddlewareHandler } from 'hono';
import type { ApiRequestCount } from './render.js';

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
export const MAX_SERIES = 500;

export class ApiRequestCounter {
  private readonly counts = new Map<string, ApiRequestCount>();

  record(api: string, method: string, status: number): void {
    const m = METHODS.has(method.toUpperCase()) ? method.toUpperCase() : 'OTHER';
    let key = `${api}\u0000${m}\u0000${status}`;
    if (!this.counts.has(key) && this.counts.size >= MAX_SERIES) {
      key = `${api}\u0000${m}\u00000`;
      status = 0;
    }
    const entry = this.counts.get(key);
    if (entry === undefined) this.counts.set(key, { api, method: m, status, count: 1 });
    else entry.count += 1;
  }

  /** hono middleware recording every response of the app it is used on, errors included. */
  middleware(api: string): MiddlewareHandler {
    return async (c, next) => {
      try {
        await next();
      } finally {
        this.record(api, c.req.method, c.res.status);
      }
    };
  }

  snapshot(): ApiRequestCount[] {
    return [...this.counts.values()].map((e) => ({ ...e }));
  }
}
