/**
 * The tenant API as an attacker tries it: credentials shown only to their
 * owner, API keys kept off credential operations, grants that end with their
 * revocation, hostile path segments on every route, and throttled guessing.
 * Real Redis, real HTTP server.
 */
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenantApp } from '../../../control-plane/api/app.js';
import { RedisCallControl } from '../../../control-plane/api/call-control.js';
import { bootstrapAccount } from '../../../control-plane/store/accounts.js';
import { recordUsage } from '../../../regions/store/usage.js';
import { basic, startApiHarness, type ApiHarness } from './api-harness.js';

let h: ApiHarness;
const A = () => `/2010-04-01/Accounts/${h.account.sid}`;

beforeAll(async () => {
  // The route walk sends ~1000 requests at once: the per-account budget is not what it tests.
  h = await startApiHarness('it-api-sec:', {
    authThrottle: { failuresPerAddress: 20, failuresPerPrincipal: 1000, windowSeconds: 60 },
    rateLimit: { requestsPerSecond: 100_000, burst: 100_000 },
  });
});
afterAll(async () => {
  await h?.close();
});

async function newKey(accountPath = A()): Promise<[string, string]> {
  const r = await h.req('POST', `${accountPath}/Keys.json`, { form: { FriendlyName: 'k' } });
  expect(r.status).toBe(201);
  return [r.body.sid, r.body.secret];
}

describe('credentials are shown only to their owner', () => {
  it('an API key is refused on Accounts, Keys and Authorizations and never sees an auth token', async () => {
    const sub = (await h.req('POST', '/2010-04-01/Accounts.json', { form: { FriendlyName: 'shop' } })).body;
    const key = await newKey();
    for (const [method, path] of [
      ['GET', `${A()}.json`],
      ['GET', '/2010-04-01/Accounts.json'],
      ['POST', '/2010-04-01/Accounts.json'],
      ['POST', `${A()}.json`],
      ['GET', `/2010-04-01/Accounts/${sub.sid}.json`],
      ['GET', `${A()}/Keys.json`],
      ['POST', `${A()}/Keys.json`],
      ['GET', `${A()}/Authorizations.json`],
    ] as const) {
      const r = await h.req(method, path, { auth: key, ...(method === 'POST' ? { form: {} } : {}) });
      expect(r.status, `${method} ${path}`).toBe(403);
      expect(r.body.code).toBe(20403);
      expect(JSON.stringify(r.body)).not.toContain(h.account.authToken);
    }
    // The key still does what keys are for.
    expect((await h.req('GET', `${A()}/Calls.json`, { auth: key })).status).toBe(200);
    // The owner with its auth token sees its own token and its subaccounts'.
    const own = await h.req('GET', '/2010-04-01/Accounts.json');
    const bySid = Object.fromEntries(own.body.accounts.map((a: { sid: string }) => [a.sid, a]));
    expect(bySid[h.account.sid].auth_token).toBe(h.account.authToken);
    expect(bySid[sub.sid].auth_token).toMatch(/^[0-9a-f]{32}$/);
    // The subaccount with its own token sees its own, never its parent's.
    const subSelf = await h.req('GET', `/2010-04-01/Accounts/${sub.sid}.json`, { auth: [sub.sid, sub.auth_token] });
    expect(subSelf.body.auth_token).toBe(sub.auth_token);
    expect((await h.req('GET', `${A()}.json`, { auth: [sub.sid, sub.auth_token] })).status).toBe(404);
  });

  it('an authorized developer never sees the subaccount token, cannot mint keys there, and loses everything on revocation', async () => {
    const dev = await bootstrapAccount(h.redis, h.prefix, { friendlyName: 'Developer', homeRegion: 'us-east' });
    const devAuth: [string, string] = [dev.sid, dev.authToken];
    const appSid = (await h.req('POST', `/2010-04-01/Accounts/${dev.sid}/Applications.json`, { auth: devAuth, form: { FriendlyName: 'x' } })).body.sid;
    const grant = await h.req('POST', `${A()}/Authorizations.json`, { form: { ApplicationSid: appSid, Permissions: ['accounts:read', 'calls:*'] } });
    expect(grant.status).toBe(201);
    const S = `/2010-04-01/Accounts/${grant.body.subaccount_sid}`;
    const seen = await h.req('GET', `${S}.json`, { auth: devAuth });
    expect(seen.status).toBe(200);
    expect(seen.body.sid).toBe(grant.body.subaccount_sid);
    expect(seen.body).not.toHaveProperty('auth_token');
    // The developer's own API key is a key: refused on the account resource altogether.
    const minted = await h.req('POST', `/2010-04-01/Accounts/${dev.sid}/Keys.json`, { auth: devAuth, form: {} });
    const devKey: [string, string] = [minted.body.sid, minted.body.secret];
    expect((await h.req('GET', `${S}.json`, { auth: devKey })).status).toBe(403);
    expect((await h.req('POST', `${S}/Keys.json`, { auth: devAuth, form: {} })).status).toBe(403);
    expect((await h.req('GET', `${S}/Calls.json`, { auth: devAuth })).status).toBe(200);
    // The owner (the user) does see the token of its subaccount.
    expect((await h.req('GET', `${S}.json`)).body.auth_token).toMatch(/^[0-9a-f]{32}$/);

    expect((await h.req('DELETE', `${A()}/Authorizations/${grant.body.sid}.json`)).status).toBe(204);
    expect((await h.req('GET', `${S}.json`, { auth: devAuth })).status).toBe(404);
    expect((await h.req('GET', `${S}/Calls.json`, { auth: devAuth })).status).toBe(404);
    expect((await h.req('GET', `${S}/Calls.json`, { auth: devKey })).status).toBe(404);
    // Nothing was minted on the subaccount while the grant lasted.
    expect((await h.req('GET', `${S}/Keys.json`)).body.keys).toEqual([]);
  });
});

/** Values an attacker puts where a SID goes. */
function hostileSegments(validSid: string): string[] {
  return [
    `${validSid}:usage`,
    `${validSid}:subaccounts`,
    `${validSid}:calls`,
    `${validSid}:queue-names`,
    `${validSid}:members`,
    `${validSid}:wait`,
    `${validSid}*`,
    validSid.slice(0, 2) + validSid.slice(2).toUpperCase(),
    validSid.slice(0, 33),
    `${validSid}0`,
    '..%2F..%2Fetc%2Fpasswd',
    '%00',
    '%2A',
    '%7B%7D',
    "'%20OR%201=1",
    'x'.repeat(3000),
    '%E2%80%AE',
  ];
}

const PREFIX_OF: Record<string, string> = {
  AccountSid: 'AC',
  CallSid: 'CA',
  QueueSid: 'QU',
};

describe('hostile path segments', () => {
  it('the findings: store key suffixes after a SID answer 404, never 500, and tell nothing of other tenants', async () => {
    const other = await bootstrapAccount(h.redis, h.prefix, { friendlyName: 'B', homeRegion: 'us-east' });
    await recordUsage(h.redis, h.prefix, { accountSid: other.sid, category: 'api-requests', region: 'us-east', quantity: 1, unit: 'requests', at: Date.now() });
    const queue = (await h.req('POST', `${A()}/Queues.json`, { form: { FriendlyName: 'support' } })).body.sid as string;
    const ghost = `AC${'0'.repeat(32)}`;
    const bodies = new Set<string>();
    for (const path of [
      `/2010-04-01/Accounts/${h.account.sid}:usage/Calls.json`,
      `/2010-04-01/Accounts/${h.account.sid}:subaccounts/Calls.json`,
      `/2010-04-01/Accounts/${h.account.sid}:calls/Calls.json`,
      `/2010-04-01/Accounts/${h.account.sid}:queue-names/Queues.json`,
      `${A()}/Queues/${queue}:members.json`,
      `${A()}/Queues/${queue}:wait.json`,
      `${A()}/Queues/${queue}:members/Members.json`,
    ]) {
      const r = await h.req('GET', path);
      expect(r.status, path).toBe(404);
      expect(r.body.code).toBe(20404);
    }
    // No existence oracle: another tenant's account, existing or not, reads the same.
    for (const sid of [other.sid, ghost]) {
      const r = await h.req('GET', `/2010-04-01/Accounts/${sid}:usage/Calls.json`);
      expect(r.status).toBe(404);
      bodies.add(JSON.stringify(r.body).replace(sid, 'SID'));
    }
    expect(bodies.size).toBe(1);
  });

  it('every route with every hostile value in every path parameter: 404, no 5xx', async () => {
    const app = createTenantApp({
      redis: h.redis,
      keyPrefix: h.prefix,
      defaultRegion: 'us-east',
      regions: ['us-east'],
      callControl: new RedisCallControl(h.redis, h.prefix),
    });
    const routes = app.routes.filter((r) => r.method !== 'ALL' && r.path.startsWith('/2010-04-01/') && r.path.includes('/:'));
    expect(routes.length).toBeGreaterThan(30);
    let sent = 0;
    for (const route of routes) {
      const params = [...route.path.matchAll(/:([A-Za-z]+)/g)].map((m) => m[1] as string);
      for (const target of params) {
        const fill = (name: string, hostile: string | undefined): string => {
          if (name === target && hostile !== undefined) return hostile;
          if (name === 'AccountSid') return h.account.sid;
          if (name === 'Subresource') return 'Daily';
          if (name === 'CallSid' && route.path.includes('/Members/')) return `CA${'ab'.repeat(16)}`;
          // A well-formed SID of the right kind that exists nowhere.
          const prefix = PREFIX_OF[name] ?? sidPrefixBefore(route.path, name);
          return `${prefix}${'ab'.repeat(16)}`;
        };
        const valid = fill(target, undefined);
        for (const hostile of target === 'Subresource' ? ['Hourly', '%00', 'Daily:x', 'x'.repeat(3000)] : hostileSegments(valid)) {
          const path = route.path.replace(/:([A-Za-z]+)/g, (_, name: string) => fill(name, hostile));
          const r = await h.req(route.method, path, route.method === 'POST' ? { form: {} } : {});
          sent++;
          expect(r.status, `${route.method} ${route.path} with ${target}=${hostile.slice(0, 40)}`).toBe(404);
        }
      }
    }
    expect(sent).toBeGreaterThan(500);
  });
});

/** The SID prefix of `:Sid` from the collection before it (`/Calls/:Sid` → CA). */
function sidPrefixBefore(path: string, name: string): string {
  const collection = new RegExp(`/([A-Za-z]+)/:${name}`).exec(path)?.[1] ?? '';
  const table: Record<string, string> = {
    Applications: 'AP',
    IncomingPhoneNumbers: 'PN',
    Calls: 'CA',
    Recordings: 'RE',
    Queues: 'QU',
    Keys: 'SK',
    Authorizations: 'CN',
    Trackers: 'TK',
    PriceOverrides: 'PO',
  };
  const prefix = table[collection];
  if (prefix === undefined) throw new Error(`no SID kind known for ${path} :${name}`);
  return prefix;
}

describe('optional URL fields and usage categories', () => {
  it('an empty string clears an application or number URL', async () => {
    const app = await h.req('POST', `${A()}/Applications.json`, {
      form: { VoiceUrl: 'http://127.0.0.1:9/a', VoiceFallbackUrl: 'http://127.0.0.1:9/b', StatusCallback: 'http://127.0.0.1:9/c' },
    });
    expect(app.body.voice_fallback_url).toBe('http://127.0.0.1:9/b');
    const cleared = await h.req('POST', `${A()}/Applications/${app.body.sid}.json`, { form: { VoiceFallbackUrl: '', StatusCallback: '' } });
    expect(cleared.status).toBe(200);
    expect(cleared.body).toMatchObject({ voice_url: 'http://127.0.0.1:9/a', voice_fallback_url: null, status_callback: null });
    expect((await h.req('GET', `${A()}/Applications/${app.body.sid}.json`)).body.voice_fallback_url).toBeNull();
    expect((await h.req('POST', `${A()}/Applications/${app.body.sid}.json`, { form: { VoiceUrl: 'ftp://x' } })).status).toBe(400);

    const num = await h.req('POST', `${A()}/IncomingPhoneNumbers.json`, {
      form: { PhoneNumber: '+15557770001', VoiceUrl: 'http://127.0.0.1:9/v', VoiceFallbackUrl: 'http://127.0.0.1:9/f' },
    });
    expect(num.status).toBe(201);
    const numCleared = await h.req('POST', `${A()}/IncomingPhoneNumbers/${num.body.sid}.json`, { form: { VoiceFallbackUrl: '', VoiceUrl: '' } });
    expect(numCleared.status).toBe(200);
    expect(numCleared.body).toMatchObject({ voice_url: null, voice_fallback_url: null });
  });

  it('Category=calls is inbound plus outbound minutes; totalprice is reported', async () => {
    const sub = (await h.req('POST', '/2010-04-01/Accounts.json', { form: {} })).body;
    const at = Date.parse('2026-05-10T12:00:00Z');
    await recordUsage(h.redis, h.prefix, { accountSid: sub.sid, category: 'calls-inbound', region: 'us-east', quantity: 3, unit: 'minutes', at });
    await recordUsage(h.redis, h.prefix, { accountSid: sub.sid, category: 'calls-outbound', region: 'eu-west', quantity: 2, unit: 'minutes', at });
    const S = `/2010-04-01/Accounts/${sub.sid}`;
    const range = 'StartDate=2026-05-01&EndDate=2026-05-31';
    const calls = await h.req('GET', `${S}/Usage/Records.json?${range}&Category=calls`);
    expect(calls.status).toBe(200);
    expect(calls.body.usage_records).toEqual([
      expect.objectContaining({ category: 'calls', usage: '5', usage_unit: 'minutes', usage_by_region: { 'us-east': '3', 'eu-west': '2' } }),
    ]);
    const all = await h.req('GET', `${S}/Usage/Records.json?${range}`);
    const cats = all.body.usage_records.map((r: { category: string }) => r.category);
    expect(cats).toEqual(expect.arrayContaining(['calls', 'calls-inbound', 'calls-outbound', 'recordings', 'api-requests', 'totalprice']));
    const daily = await h.req('GET', `${S}/Usage/Records/Daily.json?${range}&Category=calls`);
    expect(daily.body.usage_records).toEqual([expect.objectContaining({ start_date: '2026-05-10', usage: '5' })]);
    expect((await h.req('GET', `${S}/Usage/Records.json?Category=totalprice`)).body.usage_records[0]).toMatchObject({ usage_unit: 'usd' });
    const bad = await h.req('GET', `${S}/Usage/Records.json?Category=calls-everywhere`);
    expect(bad.status).toBe(400);
    expect(bad.body.message).toContain('Category');
  });
});

/** One request from a chosen loopback source address (fetch cannot bind one). */
function requestFrom(localAddress: string, path: string, user: string, pass: string): Promise<{ status: number; retryAfter: string | undefined }> {
  const url = new URL(path, h.url);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: url.hostname, port: url.port, path: url.pathname, localAddress, headers: { Authorization: basic(user, pass) }, agent: false },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] as string | undefined }));
      },
    );
    req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

describe('failed authentication is throttled', () => {
  it('300 concurrent wrong passwords from one address: cut at the limit with 429 + Retry-After; the owner elsewhere gets in', async () => {
    const path = `${A()}.json`;
    const results = await Promise.all(Array.from({ length: 300 }, () => requestFrom('127.0.0.5', path, h.account.sid, 'f'.repeat(32))));
    const count = (s: number) => results.filter((r) => r.status === s).length;
    expect(count(401)).toBe(20);
    expect(count(429)).toBe(280);
    expect(Number(results.find((r) => r.status === 429)?.retryAfter)).toBeGreaterThanOrEqual(1);
    // Refused before the check: even the right token from that address waits.
    expect((await requestFrom('127.0.0.5', path, h.account.sid, h.account.authToken)).status).toBe(429);
    // The owner from another address is not locked out.
    expect((await requestFrom('127.0.0.6', path, h.account.sid, h.account.authToken)).status).toBe(200);
  });

  it('guessing one account from many addresses: failing addresses are refused for it, a clean one still gets in', async () => {
    const t = await startApiHarness('it-api-sec-acct:', { authThrottle: { failuresPerAddress: 1000, failuresPerPrincipal: 10, windowSeconds: 60 } });
    try {
      const path = `/2010-04-01/Accounts/${t.account.sid}.json`;
      const statuses: number[] = [];
      const url = new URL(t.url);
      for (let i = 0; i < 15; i++) {
        const r = await new Promise<number>((resolve, reject) => {
          const req = httpRequest(
            { host: url.hostname, port: url.port, path, localAddress: `127.0.0.${20 + (i % 3)}`, headers: { Authorization: basic(t.account.sid, 'bad') }, agent: false },
            (res) => {
              res.resume();
              res.on('end', () => resolve(res.statusCode ?? 0));
            },
          );
          req.on('error', reject);
          req.end();
        });
        statuses.push(r);
      }
      expect(statuses.slice(0, 10)).toEqual(Array(10).fill(401));
      expect(statuses.slice(10)).toEqual(Array(5).fill(429));
      // The owner, from an address with no failures, authenticates.
      expect((await t.req('GET', `/2010-04-01/Accounts/${t.account.sid}.json`)).status).toBe(200);
    } finally {
      await t.close();
    }
  });
});
