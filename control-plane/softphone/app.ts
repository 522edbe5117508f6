/**
 * The softphone page at `/client/` (issue 13): the built page
 * (infra/build-client.ts → dist/client/) and `/client/config.json`, each
 * region's SIP-over-WebSocket URL for the page to register with. Public, like
 * /openapi.json: the page holds no secret (the user brings an access token).
 *
 * Only the names in SOFTPHONE_FILES are answered, read once at start into
 * memory, so no request can reach another file (`..`, encoded slashes and
 * every other name are 404). Every answer carries a Content-Security-Policy
 * that allows the page's own script and style only, WebSocket and HTTP(S)
 * connections (signaling nodes and a tenant's token URL are other origins),
 * and no framing.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Context, Hono } from 'hono';
import { MeshError } from '../../regions/core/errors.js';
import type { Logger } from '../../regions/core/log.js';
import type { SoftphoneConfig } from '../client/signaling-url.js';
import { renderHttpError, type ErrorFormat } from '../http/errors.js';
import { SOFTPHONE_FILES } from './files.js';

export const SOFTPHONE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  // The signaling nodes (ws/wss) and a tenant's token URL (https, or http in development).
  "connect-src 'self' ws: wss: https: http:",
  // The far end's audio plays from a MediaStream.
  "media-src 'self' blob: mediastream:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': SOFTPHONE_CSP,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  // The page asks for the microphone; nothing else may.
  'Permissions-Policy': 'microphone=(self), camera=(), geolocation=()',
  'Cache-Control': 'no-cache',
};

export interface SoftphoneDeps {
  /** The built page (dist/client/). A missing file is answered 503 naming the build step. */
  dir: string;
  /** What `/client/config.json` answers. */
  config: SoftphoneConfig;
  log: Logger;
}

const FORMAT: ErrorFormat<{ code: number; message: string; status: number }> = {
  body: (e) => ({ code: e.httpStatus, message: e.message, status: e.httpStatus }),
  realm: 'softphone',
  internalMessage: 'internal error',
};

/**
 * Adds `/client`, `/client/` and `/client/*` to `app` (the control plane's
 * root app; routes on the root, not a sub-app, so `/client/` itself and the
 * 404s are answered here).
 */
export function mountSoftphone(app: Hono<any, any, any>, deps: SoftphoneDeps): void {
  const files = new Map<string, Buffer>();
  const missing: string[] = [];
  for (const name of Object.keys(SOFTPHONE_FILES)) {
    try {
      files.set(name, readFileSync(join(deps.dir, name)));
    } catch {
      missing.push(name);
    }
  }
  if (missing.length > 0) deps.log.warn('softphone page not built: /client/ answers 503 until it is (npm run build)', { dir: deps.dir, missing: missing.join(',') });
  const configJson = JSON.stringify(deps.config);

  // Errors are rendered where they happen, in this format, whatever the host app's error handler.
  const fail = (c: Context, e: MeshError): Response => renderHttpError(e, c, FORMAT);
  const serve = (name: string) => (c: Context) => {
    const body = files.get(name);
    if (body === undefined) return fail(c, new MeshError('SERVICE_UNAVAILABLE', 'the softphone page is not built on this control plane (npm run build writes dist/client/)'));
    return c.body(new Uint8Array(body), 200, { 'Content-Type': SOFTPHONE_FILES[name]!, 'Content-Length': String(body.length) });
  };
  const getOnly = (c: Context) => fail(c, new MeshError('METHOD_NOT_ALLOWED', `${c.req.method} not allowed on ${c.req.path}; use GET`, { detail: { allow: 'GET, HEAD' } }));
  const headers = async (c: Context, next: () => Promise<void>) => {
    await next();
    for (const [k, v] of Object.entries(HEADERS)) if (!c.res.headers.has(k)) c.res.headers.set(k, v);
  };

  app.use('/client', headers);
  app.use('/client/*', headers);
  // `/client` → `/client/`, so the page's relative URLs resolve inside it.
  app.get('/client', (c: Context) => c.redirect('/client/', 301));
  app.get('/client/', serve('index.html'));
  app.get('/client/config.json', (c: Context) => c.body(configJson, 200, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' }));
  for (const name of Object.keys(SOFTPHONE_FILES)) app.get(`/client/${name}`, serve(name));
  for (const path of ['/client', '/client/', '/client/config.json', ...Object.keys(SOFTPHONE_FILES).map((n) => `/client/${n}`)]) app.all(path, getOnly);
  app.all('/client/*', (c: Context) => fail(c, new MeshError('NOT_FOUND', `${c.req.path.slice(0, 200)} not found; the softphone page is /client/`)));
}

/**
 * `/client/config.json` from the region catalog: each region's signaling
 * address with the WebSocket port and scheme of this configuration (the
 * launcher gives every region's nodes the same `sip.websocket` settings);
 * none when `sip.websocket.enabled` is false.
 */
export function softphoneConfig(regions: readonly { id: string; signaling: { address: string } }[], defaultRegion: string, websocket: { enabled: boolean; port: number; tls: boolean }): SoftphoneConfig {
  if (!websocket.enabled) return { defaultRegion, regions: [] };
  const scheme = websocket.tls ? 'wss' : 'ws';
  return {
    defaultRegion,
    regions: regions.map((r) => ({ id: r.id, websocketUrl: `${scheme}://${r.signaling.address.includes(':') ? `[${r.signaling.address}]` : r.signaling.address}:${websocket.port}/` })),
  };
}
