/**
 * The /client/ app on its own (the control plane mounts it; the integration
 * test checks it there): only the known files, with their types and the CSP,
 * 404 for anything else, 405 for other methods, 503 while the page is not built.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { mountSoftphone, SOFTPHONE_CSP, softphoneConfig } from '../../../../control-plane/softphone/app.js';
import { SOFTPHONE_FILES } from '../../../../control-plane/softphone/files.js';
import { silentLogger } from '../../../../regions/core/log.js';

const REGIONS = [
  { id: 'us-east', signaling: { address: '127.0.1.1' } },
  { id: 'eu-west', signaling: { address: '127.0.2.1' } },
  { id: 'v6', signaling: { address: '::1' } },
];

describe('softphoneConfig', () => {
  it('gives each catalog region its ws URL on the configured port, wss with TLS, none when disabled', () => {
    expect(softphoneConfig(REGIONS, 'eu-west', { enabled: true, port: 5066, tls: false })).toEqual({
      defaultRegion: 'eu-west',
      regions: [
        { id: 'us-east', websocketUrl: 'ws://127.0.1.1:5066/' },
        { id: 'eu-west', websocketUrl: 'ws://127.0.2.1:5066/' },
        { id: 'v6', websocketUrl: 'ws://[::1]:5066/' },
      ],
    });
    expect(softphoneConfig(REGIONS.slice(0, 1), 'us-east', { enabled: true, port: 7443, tls: true }).regions).toEqual([{ id: 'us-east', websocketUrl: 'wss://127.0.1.1:7443/' }]);
    expect(softphoneConfig(REGIONS, 'us-east', { enabled: false, port: 5066, tls: false }).regions).toEqual([]);
  });
});

function mounted(dir: string): Hono {
  const root = new Hono();
  mountSoftphone(root, { dir, config: softphoneConfig(REGIONS, 'us-east', { enabled: true, port: 5066, tls: false }), log: silentLogger });
  return root;
}

describe('mountSoftphone', () => {
  const dir = mkdtempSync(join(tmpdir(), 'softphone-unit-'));
  for (const name of Object.keys(SOFTPHONE_FILES)) writeFileSync(join(dir, name), `content of ${name}`);
  writeFileSync(join(dir, 'secret.txt'), 'not served');
  const app = mounted(dir);

  it.each(Object.entries(SOFTPHONE_FILES))('serves %s as %s with the CSP', async (name, type) => {
    const res = await app.request(`/client/${name}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(type);
    expect(res.headers.get('content-security-policy')).toBe(SOFTPHONE_CSP);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await res.text()).toBe(`content of ${name}`);
  });

  it('serves index.html at /client/ and redirects /client there', async () => {
    const page = await app.request('/client/');
    expect(page.status).toBe(200);
    expect(await page.text()).toBe('content of index.html');
    const bare = await app.request('/client');
    expect(bare.status).toBe(301);
    expect(bare.headers.get('location')).toBe('/client/');
  });

  it('answers config.json, not cached', async () => {
    const res = await app.request('/client/config.json');
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(await res.json()).toMatchObject({ defaultRegion: 'us-east', regions: [{ id: 'us-east', websocketUrl: 'ws://127.0.1.1:5066/' }, {}, {}] });
  });

  it.each(['/client/secret.txt', '/client/..%2Fsecret.txt', '/client/%2e%2e%2fsecret.txt', '/client/softphone.js/', '/client/sub/index.html', '/client/INDEX.HTML', '/client/index.html%00'])('404s %s', async (path) => {
    const res = await app.request(path);
    expect(res.status).toBe(404);
    expect(res.headers.get('content-security-policy')).toBe(SOFTPHONE_CSP);
    expect(await res.text()).not.toContain('not served');
  });

  it('never reaches a file outside: dot segments leave /client before routing', async () => {
    // WHATWG URL parsing resolves `..` and `%2e%2e` segments, so these are requests for /secret.txt.
    for (const path of ['/client/../secret.txt', '/client/%2e%2e/secret.txt']) {
      const res = await app.request(path);
      expect(res.status).toBe(404);
      expect(await res.text()).not.toContain('not served');
    }
  });

  it('405s other methods with Allow', async () => {
    for (const path of ['/client/', '/client/softphone.js', '/client/config.json']) {
      const res = await app.request(path, { method: 'POST' });
      expect(res.status).toBe(405);
      expect(res.headers.get('allow')).toBe('GET, HEAD');
    }
  });

  it('answers 503 naming the build step while the page is not built', async () => {
    const empty = mounted(mkdtempSync(join(tmpdir(), 'softphone-empty-')));
    const res = await empty.request('/client/');
    expect(res.status).toBe(503);
    expect((await res.json()) as unknown).toMatchObject({ message: expect.stringContaining('npm run build') });
    expect((await empty.request('/client/config.json')).status).toBe(200);
  });
});
