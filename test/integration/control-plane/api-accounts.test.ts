/** Accounts, credentials and tenancy boundaries against the real server and Redis. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrapAccount, ensureDevAccount } from '../../../control-plane/store/accounts.js';
import { keys } from '../../../regions/store/keys.js';
import type { AccountRecord } from '../../../regions/store/schema.js';
import { startApiHarness, type ApiHarness } from './api-harness.js';

let h: ApiHarness;
let other: AccountRecord;
const A = () => `/2010-04-01/Accounts/${h.account.sid}`;

beforeAll(async () => {
  h = await startApiHarness('it-api-accounts:');
  other = await bootstrapAccount(h.redis, h.prefix, { friendlyName: 'Tenant B', homeRegion: 'eu-west' });
});
afterAll(async () => {
  await h?.close();
});

describe('authentication', () => {
  it('refuses a request without credentials with 401, code 20003 and a Basic challenge', async () => {
    const r = await h.req('GET', `${A()}.json`, { auth: null });
    expect(r.status).toBe(401);
    expect(r.body).toMatchObject({ code: 20003, status: 401 });
    expect(r.body.more_info).toContain('20003');
    expect(r.headers.get('www-authenticate')).toMatch(/^Basic/);
  });

  it('refuses a wrong token and an unknown SID', async () => {
    expect((await h.req('GET', `${A()}.json`, { auth: [h.account.sid, 'f'.repeat(32)] })).status).toBe(401);
    expect((await h.req('GET', `${A()}.json`, { auth: ['AC' + '0'.repeat(32), h.account.authToken] })).status).toBe(401);
    expect((await h.req('GET', `${A()}.json`, { auth: ['XX123', 'x'] })).status).toBe(401);
  });

  it('accepts an API key (secret shown once) and refuses key management with a key', async () => {
    const created = await h.req('POST', `${A()}/Keys.json`, { form: { FriendlyName: 'ci' } });
    expect(created.status).toBe(201);
    expect(created.body.sid).toMatch(/^SK[0-9a-f]{32}$/);
    const { sid, secret } = created.body as { sid: string; secret: string };
    const fetched = await h.req('GET', `${A()}/Keys/${sid}.json`);
    expect(fetched.body).toEqual({ sid, friendly_name: 'ci', date_created: expect.any(String), date_updated: expect.any(String) });
    const viaKey = await h.req('GET', `${A()}/Calls.json`, { auth: [sid, secret] });
    expect(viaKey.status).toBe(200);
    expect((await h.req('GET', `${A()}/Calls.json`, { auth: [sid, secret + 'x'] })).status).toBe(401);
    const mint = await h.req('POST', `${A()}/Keys.json`, { auth: [sid, secret], form: {} });
    expect(mint.status).toBe(403);
    expect((await h.req('DELETE', `${A()}/Keys/${sid}.json`)).status).toBe(204);
    expect((await h.req('GET', `${A()}/Calls.json`, { auth: [sid, secret] })).status).toBe(401);
  });
});

describe('accounts and subaccounts', () => {
  it('creates, lists, fetches and renames a subaccount; the parent acts on its resources', async () => {
    const created = await h.req('POST', '/2010-04-01/Accounts.json', { form: { FriendlyName: 'Shop 1' } });
    expect(created.status).toBe(201);
    const sub = created.body;
    expect(sub).toMatchObject({ friendly_name: 'Shop 1', status: 'active', owner_account_sid: h.account.sid, home_region: 'us-east', type: 'Full' });
    expect(sub.uri).toBe(`/2010-04-01/Accounts/${sub.sid}.json`);
    expect(sub.subresource_uris.calls).toBe(`/2010-04-01/Accounts/${sub.sid}/Calls.json`);

    const list = await h.req('GET', '/2010-04-01/Accounts.json');
    expect(list.body.accounts.map((a: { sid: string }) => a.sid)).toEqual(expect.arrayContaining([h.account.sid, sub.sid]));
    const filtered = await h.req('GET', '/2010-04-01/Accounts.json?FriendlyName=Shop%201');
    expect(filtered.body.accounts.map((a: { sid: string }) => a.sid)).toEqual([sub.sid]);

    const renamed = await h.req('POST', `/2010-04-01/Accounts/${sub.sid}.json`, { form: { FriendlyName: 'Shop One' } });
    expect(renamed.body.friendly_name).toBe('Shop One');

    const call = await h.req('POST', `/2010-04-01/Accounts/${sub.sid}/Calls.json`, { form: { To: '+15551230000', From: '+15551239999', Url: 'http://127.0.0.1:9/x' } });
    expect(call.status).toBe(201);
    expect(call.body.account_sid).toBe(sub.sid);
    // The subaccount's own credentials see it too.
    const own = await h.req('GET', `/2010-04-01/Accounts/${sub.sid}/Calls/${call.body.sid}.json`, { auth: [sub.sid, sub.auth_token] });
    expect(own.status).toBe(200);
  });

  it('never lets a subaccount act on its parent or create subaccounts', async () => {
    const sub = (await h.req('POST', '/2010-04-01/Accounts.json', { form: { FriendlyName: 'child' } })).body;
    const auth: [string, string] = [sub.sid, sub.auth_token];
    const up = await h.req('GET', `${A()}.json`, { auth });
    expect(up.status).toBe(404);
    expect(up.body.code).toBe(20404);
    expect((await h.req('GET', `${A()}/Calls.json`, { auth })).status).toBe(404);
    const nested = await h.req('POST', '/2010-04-01/Accounts.json', { auth, form: {} });
    expect(nested.status).toBe(403);
    // Nor suspend itself.
    expect((await h.req('POST', `/2010-04-01/Accounts/${sub.sid}.json`, { auth, form: { Status: 'suspended' } })).status).toBe(403);
  });

  it('answers 404 for another tenant\'s account and its resources, never 403', async () => {
    const r = await h.req('GET', `/2010-04-01/Accounts/${other.sid}.json`);
    expect(r.status).toBe(404);
    expect((await h.req('POST', `/2010-04-01/Accounts/${other.sid}/Calls.json`, { form: { To: '+15550000000', From: '+15550000001', Url: 'http://127.0.0.1:9/' } })).status).toBe(404);
    const theirCall = await h.req('POST', `/2010-04-01/Accounts/${other.sid}/Calls.json`, {
      auth: [other.sid, other.authToken],
      form: { To: '+15550000000', From: '+15550000001', Url: 'http://127.0.0.1:9/' },
    });
    expect(theirCall.status).toBe(201);
    expect(theirCall.body.region).toBe('eu-west');
    // Their call SID under my account: 404 as well.
    expect((await h.req('GET', `${A()}/Calls/${theirCall.body.sid}.json`)).status).toBe(404);
  });

  it('suspends a subaccount (403 on its credentials and resources), reactivates it, and closes it for good', async () => {
    const sub = (await h.req('POST', '/2010-04-01/Accounts.json', { form: { FriendlyName: 'to-suspend' } })).body;
    const auth: [string, string] = [sub.sid, sub.auth_token];
    const num = await h.req('POST', `/2010-04-01/Accounts/${sub.sid}/IncomingPhoneNumbers.json`, { auth, form: { PhoneNumber: '+15557770001' } });
    expect(num.status).toBe(201);

    const suspended = await h.req('POST', `/2010-04-01/Accounts/${sub.sid}.json`, { form: { Status: 'suspended' } });
    expect(suspended.body.status).toBe('suspended');
    const refused = await h.req('GET', `/2010-04-01/Accounts/${sub.sid}/Calls.json`, { auth });
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe(20005);
    const parentOnResources = await h.req('GET', `/2010-04-01/Accounts/${sub.sid}/Calls.json`);
    expect(parentOnResources.status).toBe(403);
    expect((await h.req('GET', `/2010-04-01/Accounts/${sub.sid}.json`)).status).toBe(200);

    expect((await h.req('POST', `/2010-04-01/Accounts/${sub.sid}.json`, { form: { Status: 'active' } })).body.status).toBe('active');
    expect((await h.req('GET', `/2010-04-01/Accounts/${sub.sid}/Calls.json`, { auth })).status).toBe(200);

    const closed = await h.req('POST', `/2010-04-01/Accounts/${sub.sid}.json`, { form: { Status: 'closed' } });
    expect(closed.body.status).toBe('closed');
    expect((await h.req('GET', `/2010-04-01/Accounts/${sub.sid}.json`, { auth })).status).toBe(401);
    // Closing released its number; a closed account cannot be reopened.
    expect(await h.redis.get(keys(h.prefix).numberByE164('+15557770001'))).toBeNull();
    const reopen = await h.req('POST', `/2010-04-01/Accounts/${sub.sid}.json`, { form: { Status: 'active' } });
    expect(reopen.status).toBe(400);
  });

  it('refuses every request of a suspended top-level account, and of its subaccounts', async () => {
    const top = await bootstrapAccount(h.redis, h.prefix, { friendlyName: 'Tenant C', homeRegion: 'us-east' });
    const sub = (await h.req('POST', '/2010-04-01/Accounts.json', { auth: [top.sid, top.authToken], form: {} })).body;
    await h.redis.set(keys(h.prefix).account(top.sid), JSON.stringify({ ...top, status: 'suspended' }));
    const r = await h.req('GET', `/2010-04-01/Accounts/${top.sid}.json`, { auth: [top.sid, top.authToken] });
    expect(r.status).toBe(403);
    expect(r.body.code).toBe(20005);
    expect((await h.req('GET', `/2010-04-01/Accounts/${sub.sid}.json`, { auth: [sub.sid, sub.auth_token] })).status).toBe(403);
  });

  it('validates subaccount fields', async () => {
    const r = await h.req('POST', '/2010-04-01/Accounts.json', { form: { HomeRegion: 'mars-1' } });
    expect(r.status).toBe(400);
    expect(r.body.message).toContain('HomeRegion');
    const s = await h.req('POST', `${A()}.json`, { form: { Status: 'frozen' } });
    expect(s.status).toBe(400);
    expect(s.body.message).toContain('Status');
  });
});

describe('development account', () => {
  it('is created once and returned with the same credentials afterwards, usable at once', async () => {
    const [first, racer] = await Promise.all([ensureDevAccount(h.redis, h.prefix, 'us-east'), ensureDevAccount(h.redis, h.prefix, 'us-east')]);
    expect([first.created, racer.created].sort()).toEqual([false, true]);
    expect(racer.account.sid).toBe(first.account.sid);
    const again = await ensureDevAccount(h.redis, h.prefix, 'us-east');
    expect(again).toEqual({ account: first.account, created: false });
    const r = await h.req('GET', `/2010-04-01/Accounts/${again.account.sid}.json`, { auth: [again.account.sid, again.account.authToken] });
    expect(r.status).toBe(200);
  });
});
