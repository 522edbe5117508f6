/**
 * Application authorization: a user account grants a developer account's
 * application a permission profile on a new linked subaccount; the developer
 * acts there with its own credentials, only within the profile.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrapAccount } from '../../../control-plane/store/accounts.js';
import type { AccountRecord } from '../../../regions/store/schema.js';
import { startApiHarness, type ApiHarness } from './api-harness.js';

let h: ApiHarness;
let dev: AccountRecord;
let devAuth: [string, string];
let appSid: string;
const U = () => `/2010-04-01/Accounts/${h.account.sid}`;

beforeAll(async () => {
  h = await startApiHarness('it-api-authz:');
  dev = await bootstrapAccount(h.redis, h.prefix, { friendlyName: 'Developer', homeRegion: 'eu-west' });
  devAuth = [dev.sid, dev.authToken];
  appSid = (await h.req('POST', `/2010-04-01/Accounts/${dev.sid}/Applications.json`, { auth: devAuth, form: { FriendlyName: 'Dialer' } })).body.sid;
});
afterAll(async () => {
  await h?.close();
});

async function authorize(permissions: string[]) {
  return h.req('POST', `${U()}/Authorizations.json`, { form: { ApplicationSid: appSid, Permissions: permissions } });
}

describe('Authorizations', () => {
  it('creates a linked subaccount of the user and enforces the permission profile', async () => {
    const r = await authorize(['calls:read', 'calls:write', 'applications:read']);
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ account_sid: h.account.sid, developer_account_sid: dev.sid, application_sid: appSid });
    expect(r.body.permissions.sort()).toEqual(['applications:read', 'calls:read', 'calls:write']);
    const S = `/2010-04-01/Accounts/${r.body.subaccount_sid}`;
    const sub = await h.req('GET', `${S}.json`);
    expect(sub.body).toMatchObject({ owner_account_sid: h.account.sid, home_region: 'us-east' });

    // Inside the profile: the developer's own credentials work on the subaccount.
    const call = await h.req('POST', `${S}/Calls.json`, { auth: devAuth, form: { To: '+15550000001', From: '+15550000002', Url: 'http://127.0.0.1:9/' } });
    expect(call.status).toBe(201);
    expect(call.body.account_sid).toBe(r.body.subaccount_sid);
    expect((await h.req('GET', `${S}/Calls.json`, { auth: devAuth })).body.calls).toHaveLength(1);
    expect((await h.req('GET', `${S}/Applications.json`, { auth: devAuth })).status).toBe(200);

    // Outside it: 403 with code 20403.
    const write = await h.req('POST', `${S}/Applications.json`, { auth: devAuth, form: {} });
    expect(write.status).toBe(403);
    expect(write.body.code).toBe(20403);
    expect((await h.req('GET', `${S}/IncomingPhoneNumbers.json`, { auth: devAuth })).status).toBe(403);
    expect((await h.req('GET', `${S}.json`, { auth: devAuth })).status).toBe(403);
    expect((await h.req('POST', `${S}/Keys.json`, { auth: devAuth, form: {} })).status).toBe(403);
    // The developer never reaches the user's own account.
    expect((await h.req('GET', `${U()}/Calls.json`, { auth: devAuth })).status).toBe(404);

    // Revoked: the subaccount becomes invisible to the developer.
    const authSid = r.body.sid as string;
    expect((await h.req('GET', `${U()}/Authorizations/${authSid}.json`)).body.sid).toBe(authSid);
    expect((await h.req('GET', `${U()}/Authorizations.json`)).body.authorizations.map((a: { sid: string }) => a.sid)).toContain(authSid);
    expect((await h.req('DELETE', `${U()}/Authorizations/${authSid}.json`)).status).toBe(204);
    expect((await h.req('GET', `${S}/Calls.json`, { auth: devAuth })).status).toBe(404);
    expect((await h.req('GET', `${S}/Calls.json`)).status).toBe(200);
  });

  it('expands resource:* to every verb', async () => {
    const r = await authorize(['queues:*']);
    const S = `/2010-04-01/Accounts/${r.body.subaccount_sid}`;
    const q = await h.req('POST', `${S}/Queues.json`, { auth: devAuth, form: { FriendlyName: 'q' } });
    expect(q.status).toBe(201);
    expect((await h.req('DELETE', `${S}/Queues/${q.body.sid}.json`, { auth: devAuth })).status).toBe(204);
    expect((await h.req('GET', `${S}/Calls.json`, { auth: devAuth })).status).toBe(403);
  });

  it('refuses bad grants', async () => {
    const noPerm = await h.req('POST', `${U()}/Authorizations.json`, { form: { ApplicationSid: appSid } });
    expect(noPerm.status).toBe(400);
    expect(noPerm.body.message).toContain('Permissions');
    const badPerm = await authorize(['calls:fly']);
    expect(badPerm.body.message).toContain('Permissions');
    const unknownApp = await h.req('POST', `${U()}/Authorizations.json`, { form: { ApplicationSid: `AP${'0'.repeat(32)}`, Permissions: 'calls:read' } });
    expect(unknownApp.body.message).toContain('ApplicationSid');
    // Only the user (or its parent) grants access to its account.
    const byDev = await h.req('POST', `${U()}/Authorizations.json`, { auth: devAuth, form: { ApplicationSid: appSid, Permissions: 'calls:read' } });
    expect(byDev.status).toBe(404);
  });
});
