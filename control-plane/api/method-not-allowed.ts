/**
 * 405 for a known path with the wrong verb (RFC 9110 §15.5.6, with Allow),
 * 404 for an unknown path. Built from the routes registered on the app, so
 * it cannot drift from them.
 */
import type { Hono } from 'hono';
import { apiError, notFound } from './errors.js';

interface KnownPath {
  pattern: RegExp;
  methods: Set<string>;
}

export function knownPaths(app: Hono<any>): KnownPath[] {
  const byPath = new Map<string, KnownPath>();
  for (const r of app.routes) {
    if (r.method === 'ALL' || r.path.includes('*')) continue;
    let entry = byPath.get(r.path);
    if (entry === undefined) {
      const source = r.path.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/:[A-Za-z0-9_]+/g, '[^/]+');
      entry = { pattern: new RegExp(`^${source}$`), methods: new Set() };
      byPath.set(r.path, entry);
    }
    entry.methods.add(r.method);
  }
  return [...byPath.values()];
}

/** The error for a request no route took: 405 naming the allowed verbs, or 404. */
export function unmatchedRequestError(paths: KnownPath[], path: string) {
  const allowed = new Set<string>();
  for (const p of paths) if (p.pattern.test(path)) for (const m of p.methods) allowed.add(m);
  if (allowed.size === 0) return notFound(`The requested resource ${path}`);
  const allow = [...allowed].sort().join(', ');
  const err = apiError('METHOD_NOT_ALLOWED', `Method not allowed; use ${allow}`, 20004);
  (err.detail as Record<string, unknown>)['allow'] = allow;
  return err;
}
