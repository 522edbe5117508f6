/**
 * HTTP-level behaviour of the tenant API: paths with and without `.json`,
 * 404 / 405, body limits (declared and chunked), content types, malformed
 * bodies and queries, the rate limit, and the OpenAPI document.
 */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrapAccount } from '../../../control-plane/store/accounts.js';
import { basic, startApiHarness, type ApiHarness } from './api-harness.js';

let h: ApiHarness;
const A = () => `/2010-04-01/Accounts/${h.account.sid}`;
const MiB = 1024 * 1024;

beforeAll(async () => {
  h = await startApiHarness('it-api-http:');
});
afterAll(async () => {
  await h?.close();
});

/** POST with a chunked body (no Content-Length): chunks are written until the server answers or `total` is sent. */
function postChunked(path: string, chunk: string, total: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const url = new URL(path, h.url);
    const req = request(
      { host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { Authorization: basic(h.account.sid, h.account.authToken), 'Content-Type': 'application/x-www-form-urlencoded', 'Transfer-Encoding': 'chunked' } },
      (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    let sent = 0;
    const pump = (): void => {
      while (sent < total) {
        sent += chunk.length;
        if (!req.write(chunk)) {
          req.once('drain', pump);
          return;
        }
      }
      req.end();
    };
    pump();
  });
}

describe('paths and verbs', () => {
  it('accepts paths with and without .json', async () => {
    expect((await h.req('GET', `${A()}.json`)).status).toBe(200);
    expect((await h.req('GET', A())).status).toBe(200);
    expect((await h.req('GET', `${A()}/Calls`)).status).toBe(200);
  });

  it('answers 405 with Allow for a wrong verb on a known path, 404 for an unknown path', async () => {
    const r = await h.req('DELETE', `${A()}/Calls.json`);
    expect(r.status).toBe(405);
    expect(r.body).toMatchObject({ code: 20004, status: 405 });
    expect(r.headers.get('allow')).toBe('GET, POST');
    const put = await h.req('PUT', `${A()}/Calls/CA${'1'.repeat(32)}.json`, { form: {} });
    expect(put.status).toBe(405);
    expect(put.headers.get('allow')).toBe('GET, POST');
    const missing = await h.req('GET', `${A()}/Nonsense.json`);
    expect(missing.status).toBe(404);
    expect(missing.body.code).toBe(20404);
  });
});

describe('request bodies', () => {
  it('413 when Content-Length declares more than 1 MiB', async () => {
    const r = await h.req('POST', `${A()}/Applications.json`, { body: `FriendlyName=${'a'.repeat(MiB)}`, headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
    expect(r.status).toBe(413);
    expect(r.body).toMatchObject({ code: 20413, status: 413 });
  });

  it('413 for a chunked body that passes 1 MiB while it is read', async () => {
    const r = await postChunked(`${A()}/Applications.json`, `FriendlyName=${'b'.repeat(64 * 1024)}&`, 4 * MiB);
    expect(r.status).toBe(413);
    expect(JSON.parse(r.body).code).toBe(20413);
  });

  it('reads a chunked body under the limit (then validates it)', async () => {
    const r = await postChunked(`${A()}/Applications.json`, 'FriendlyName=chunky', 19);
    expect(r.status).toBe(201);
    expect(JSON.parse(r.body).friendly_name).toBe('chunky');
    const big = await postChunked(`${A()}/Applications.json`, 'x'.repeat(1000), 900_000);
    expect(big.status).toBe(201);
  });

  it('415 for a body that is not form-encoded', async () => {
    const r = await h.req('POST', `${A()}/Calls.json`, { body: JSON.stringify({ To: '+15550000000' }), headers: { 'Content-Type': 'application/json' } });
    expect(r.status).toBe(415);
    expect(r.body).toMatchObject({ code: 20415, status: 415 });
    expect((await h.req('POST', `${A()}/Calls.json`, { body: 'To=%2B1555', headers: { 'Content-Type': 'text/plain' } })).status).toBe(415);
  });

  it('400 for a malformed form body', async () => {
    for (const body of ['FriendlyName=%ZZ', 'FriendlyName=%E0%A4', 'FriendlyName=50%']) {
      const r = await h.req('POST', `${A()}/Applications.json`, { body, headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
      expect(r.status, body).toBe(400);
      expect(r.body.message).toMatch(/Malformed/);
    }
    const dup = await h.req('POST', `${A()}/Applications.json`, { body: 'FriendlyName=a&FriendlyName=b', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
    expect(dup.status).toBe(400);
    expect(dup.body.message).toContain('FriendlyName');
  });

  it('400 naming a malformed query parameter', async () => {
    const r = await h.req('GET', `${A()}/Calls.json?PageSize=lots`);
    expect(r.status).toBe(400);
    expect(r.body.message).toContain('PageSize');
    expect((await h.req('GET', `${A()}/Calls.json?PageSize=1001`)).status).toBe(400);
    expect((await h.req('GET', `${A()}/Calls.json?PageToken=forged`)).body.message).toContain('PageToken');
  });
});

describe('rate limit', () => {
  it('429 with Retry-After once an account spent its bucket; other accounts are unaffected', async () => {
    const limited = await startApiHarness('it-api-http-rl:', { rateLimit: { requestsPerSecond: 0.5, burst: 3 } });
    try {
      const other = await bootstrapAccount(limited.redis, limited.prefix, { friendlyName: 'B', homeRegion: 'us-east' });
      const path = `/2010-04-01/Accounts/${limited.account.sid}.json`;
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) statuses.push((await limited.req('GET', path)).status);
      expect(statuses).toEqual([200, 200, 200, 429]);
      const r = await limited.req('GET', path);
      expect(r.body).toMatchObject({ code: 20429, status: 429 });
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect((await limited.req('GET', `/2010-04-01/Accounts/${other.sid}.json`, { auth: [other.sid, other.authToken] })).status).toBe(200);
    } finally {
      await limited.close();
    }
  });
});

describe('OpenAPI', () => {
  it('serves the document generated from the request schemas, without credentials', async () => {
    const r = await h.req('GET', '/openapi.json', { auth: null });
    expect(r.status).toBe(200);
    expect(r.body.openapi).toMatch(/^3\./);
    const create = r.body.paths['/2010-04-01/Accounts/{AccountSid}/Calls'].post;
    const schema = create.requestBody.content['application/x-www-form-urlencoded'].schema;
    expect(schema.required).toEqual(expect.arrayContaining(['To', 'From']));
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(['Url', 'ApplicationSid', 'StatusCallbackEvent', 'Timeout']));
    expect(Object.keys(r.body.paths)).toEqual(
      expect.arrayContaining([
        '/2010-04-01/Accounts',
        '/2010-04-01/Accounts/{AccountSid}/Applications/{Sid}',
        '/2010-04-01/Accounts/{AccountSid}/IncomingPhoneNumbers',
        '/2010-04-01/Accounts/{AccountSid}/Queues/{QueueSid}/Members/{CallSid}',
        '/2010-04-01/Accounts/{AccountSid}/Usage/Records/{Subresource}',
        '/2010-04-01/Accounts/{AccountSid}/Authorizations',
      ]),
    );
    expect(r.body.components.securitySchemes.basicAuth).toMatchObject({ type: 'http', scheme: 'basic' });
  });
});
