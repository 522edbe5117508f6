/**
 * The control plane serves the softphone page (issue 13, item 5) the way the
 * launcher starts it (infra/control-plane.ts, embedded region catalog, real
 * Redis): the page built by the real build step (infra/build-client.ts,
 * esbuild + JsSIP) at /client/ with its content types and CSP, 404 for every
 * other name under /client/ (encoded traversal included), and
 * /client/config.json with every catalog region's WebSocket URL.
 * Control plane on 127.0.43.1.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SOFTPHONE_CSP } from '../../../control-plane/softphone/app.js';
import { buildSoftphone } from '../../../infra/build-client.js';
import { parseConfig } from '../../../infra/config.js';
import { startControlPlane, type ControlPlane } from '../../../infra/control-plane.js';
import { silentLogger } from '../../../regions/core/log.js';
import { clearKeys } from '../../support/redis-keys.js';
import { TEST_REDIS_URL } from '../global-setup.js';

const PREFIX = `it-softphone-${process.pid}:`;

describe('the control plane serves the softphone page at /client/', () => {
  let cp: ControlPlane;
  const clientDir = mkdtempSync(join(tmpdir(), 'softphone-build-'));
  const get = (path: string, init: RequestInit = {}): Promise<Response> => fetch(`${cp.url}${path}`, { redirect: 'manual', signal: AbortSignal.timeout(3000), ...init });

  beforeAll(async () => {
    await clearKeys(TEST_REDIS_URL, PREFIX);
    const sizes = await buildSoftphone(clientDir);
    expect(Object.keys(sizes).sort()).toEqual(['index.html', 'softphone.css', 'softphone.js', 'softphone.licenses.txt']);
    const config = parseConfig({ region: 'eu-west', redis: { url: TEST_REDIS_URL, keyPrefix: PREFIX }, controlPlane: { address: '127.0.43.1' } });
    cp = await startControlPlane(config, { operatorPassword: 'softphone-operator', port: 0, clientDir }, silentLogger);
  });

  afterAll(async () => {
    await cp?.close();
    await clearKeys(TEST_REDIS_URL, PREFIX);
  });

  it('serves the page: HTML that loads only its own script and style, with the CSP and no secrets', async () => {
    const res = await get('/client/');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('content-security-policy')).toBe(SOFTPHONE_CSP);
    expect(SOFTPHONE_CSP).toContain("script-src 'self'");
    expect(SOFTPHONE_CSP).toContain("frame-ancestors 'none'");
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    const html = await res.text();
    expect(html).toBe(readFileSync(join(clientDir, 'index.html'), 'utf8'));
    expect(html).toContain('<script src="softphone.js" defer></script>');
    // Nothing inline (the CSP would block it) and nothing from elsewhere.
    expect(html).not.toMatch(/<script>|<script [^>]*>[^<]|\son[a-z]+=|https?:\/\/(?!example\.com)/);
    for (const label of ['token', 'token-url', 'signaling-url', 'dial']) expect(html).toContain(`<label for="${label}"`);
  });

  it('serves the bundle with JsSIP in it, and its style and licences', async () => {
    const js = await get('/client/softphone.js');
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(js.headers.get('content-security-policy')).toBe(SOFTPHONE_CSP);
    const code = await js.text();
    expect(code.length).toBeGreaterThan(100_000);
    expect(code).toContain('JsSIP');
    // Bundled: no module loading, nothing fetched from a CDN at run time.
    expect(code).not.toMatch(/\bimport\s*\(|\brequire\(\s*["']jssip|unpkg|jsdelivr|cdnjs/);
    const css = await get('/client/softphone.css');
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');
    const licences = await (await get('/client/softphone.licenses.txt')).text();
    expect(licences).toMatch(/^jssip 3\.\d+\.\d+ \(MIT\)$/m);
  });

  it('redirects /client to /client/ and answers HEAD', async () => {
    const bare = await get('/client');
    expect(bare.status).toBe(301);
    expect(bare.headers.get('location')).toBe('/client/');
    const head = await get('/client/softphone.js', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
  });

  it('answers config.json with every catalog region, defaulting to the control plane region', async () => {
    const res = await get('/client/config.json');
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(await res.json()).toEqual({
      defaultRegion: 'eu-west',
      regions: [
        { id: 'us-east', websocketUrl: 'ws://127.0.1.1:5066/' },
        { id: 'eu-west', websocketUrl: 'ws://127.0.2.1:5066/' },
        { id: 'ap-south', websocketUrl: 'ws://127.0.3.1:5066/' },
      ],
    });
  });

  it('404s every other name, encoded traversal included, and never serves a file outside the page', async () => {
    for (const path of ['/client/package.json', '/client/..%2F..%2Fpackage.json', '/client/%2e%2e%2f%2e%2e%2fpackage.json', '/client/main.ts', '/client/phone.ts', '/client/softphone.js.map', '/client/x/index.html', '/client/index.html/']) {
      const res = await get(path);
      expect(res.status, path).toBe(404);
      expect(res.headers.get('content-security-policy'), path).toBe(SOFTPHONE_CSP);
      const body = (await res.json()) as { message: string };
      expect(body.message).toContain('not found; the softphone page is /client/');
    }
    // Dot segments are resolved by the URL parser: this asks for /package.json, which is not served either.
    const raw = await get('/client/%2e%2e/package.json');
    expect(raw.status).toBe(404);
    expect(await raw.text()).not.toContain('"dependencies"');
  });

  it('refuses other methods with 405 and Allow, and needs no credentials', async () => {
    const post = await get('/client/', { method: 'POST', body: 'x' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    expect(post.headers.get('www-authenticate')).toBeNull();
  });

  it('counts the page requests as api="client" on /metrics', async () => {
    const metrics = await (await get('/metrics', { headers: { Authorization: `Basic ${Buffer.from(`${cp.operator.username}:${cp.operator.password}`).toString('base64')}` } })).text();
    expect(metrics).toMatch(/mesh_api_requests_total\{[^}]*api="client"[^}]*method="GET"[^}]*status="200"[^}]*\} [1-9]/);
  });
});
