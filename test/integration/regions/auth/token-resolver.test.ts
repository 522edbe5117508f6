/**
 * The access-token resolver against real Redis, with accounts, subaccounts,
 * keys and applications made through the tenant API (the harness's server,
 * given a platform secrets key) and tokens minted by the real `twilio` library
 * with the secrets the API returned. Every refusal the store decides has a case.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import twilio from 'twilio';
import { SecretBox } from '../../../../regions/auth/secret-box.js';
import { AccessTokenResolver } from '../../../../regions/auth/token-resolver.js';
import type { TokenRefusalReason } from '../../../../regions/auth/token-refusal.js';
import { apiKeyRecords } from '../../../../regions/store/api-keys.js';
import { AccountStore, bootstrapAccount } from '../../../../control-plane/store/accounts.js';
import { startApiHarness, type ApiHarness } from '../../control-plane/api-harness.js';

const { AccessToken } = twilio.jwt;

let h: ApiHarness;
let resolver: AccessTokenResolver;
const secrets = new SecretBox(randomBytes(32));

interface Key {
  sid: string;
  secret: string;
}
/** The parent (harness account) and its resources. */
let parentKey: Key;
let parentApp: string;
let sub: { sid: string; authToken: string };
let subKey: Key;
let subApp: string;
let sibling: { sid: string; authToken: string };

const accountPath = (sid: string): string => `/2010-04-01/Accounts/${sid}`;

async function createKey(account: { sid: string; authToken: string }): Promise<Key> {
  const r = await h.req('POST', `${accountPath(account.sid)}/Keys.json`, { auth: [account.sid, account.authToken], form: { FriendlyName: 'tokens' } });
  expect(r.status).toBe(201);
  return { sid: r.body.sid, secret: r.body.secret };
}

async function createApp(account: { sid: string; authToken: string }): Promise<string> {
  const r = await h.req('POST', `${accountPath(account.sid)}/Applications.json`, { auth: [account.sid, account.authToken], form: { VoiceUrl: 'http://127.0.0.1:9/voice' } });
  expect(r.status).toBe(201);
  return r.body.sid as string;
}

async function createSubaccount(name: string): Promise<{ sid: string; authToken: string }> {
  const r = await h.req('POST', '/2010-04-01/Accounts.json', { form: { FriendlyName: name } });
  expect(r.status).toBe(201);
  return { sid: r.body.sid, authToken: r.body.auth_token };
}

function mint(account: string, key: Key, grant: { app?: string; incoming?: boolean } = { incoming: true }, ttl = 3600): string {
  const token = new AccessToken(account, key.sid, key.secret, { identity: 'alice', ttl });
  token.addGrant(new AccessToken.VoiceGrant({ ...(grant.app === undefined ? {} : { outgoingApplicationSid: grant.app }), ...(grant.incoming === true ? { incomingAllow: true } : {}) }));
  return token.toJwt();
}

async function expectRefused(token: string, reason: TokenRefusalReason, message?: RegExp, r: AccessTokenResolver = resolver): Promise<void> {
  const result = await r.resolve(token);
  expect(result.ok, `expected ${reason}`).toBe(false);
  if (result.ok) return;
  expect(result.reason).toBe(reason);
  if (message !== undefined) expect(result.message).toMatch(message);
}

beforeAll(async () => {
  h = await startApiHarness('it-token-resolver:', { secrets });
  resolver = new AccessTokenResolver({ redis: h.redis, keyPrefix: h.prefix, secrets });
  const parent = { sid: h.account.sid, authToken: h.account.authToken };
  parentKey = await createKey(parent);
  parentApp = await createApp(parent);
  sub = await createSubaccount('Shop');
  subKey = await createKey(sub);
  subApp = await createApp(sub);
  sibling = await createSubaccount('Other shop');
});
afterAll(async () => {
  await h?.close();
});

describe('access tokens against the store', () => {
  it('resolves a token signed by the account own key: account, key owner and the outgoing application', async () => {
    const r = await resolver.resolve(mint(sub.sid, subKey, { app: subApp, incoming: true }));
    if (!r.ok) throw new Error(`${r.reason}: ${r.message}`);
    expect(r.claims).toMatchObject({ accountSid: sub.sid, keySid: subKey.sid, identity: 'alice', voice: { incomingAllow: true, outgoing: { applicationSid: subApp } } });
    expect(r.account).toMatchObject({ sid: sub.sid, status: 'active' });
    expect(r.keyAccountSid).toBe(sub.sid);
    expect(r.application).toMatchObject({ sid: subApp, accountSid: sub.sid, voiceUrl: 'http://127.0.0.1:9/voice' });
    const incomingOnly = await resolver.resolve(mint(sub.sid, subKey));
    expect(incomingOnly.ok && incomingOnly.application).toBeUndefined();
  });

  it('lets a parent key sign for its subaccount, never a subaccount key for its parent or a sibling', async () => {
    const r = await resolver.resolve(mint(sub.sid, parentKey, { app: subApp }));
    expect(r.ok && r.keyAccountSid).toBe(h.account.sid);
    await expectRefused(mint(h.account.sid, subKey), 'key-of-another-account', new RegExp(`${subKey.sid} belongs neither to account ${h.account.sid} nor to its parent`));
    await expectRefused(mint(sibling.sid, subKey), 'key-of-another-account');
    const stranger = await bootstrapAccount(h.redis, h.prefix, { friendlyName: 'Tenant B', homeRegion: 'us-east' });
    await expectRefused(mint(stranger.sid, parentKey), 'key-of-another-account');
  });

  it('refuses an application of another account (the parent, a sibling) and an application that does not exist', async () => {
    await expectRefused(mint(sub.sid, subKey, { app: parentApp }), 'application-not-in-account', new RegExp(`application ${parentApp} .* is not an application of account ${sub.sid}`));
    const siblingApp = await createApp(sibling);
    await expectRefused(mint(sub.sid, parentKey, { app: siblingApp }), 'application-not-in-account');
    await expectRefused(mint(sub.sid, subKey, { app: 'AP' + '0'.repeat(32) }), 'application-not-in-account');
  });

  it('refuses an unknown key and a deleted one', async () => {
    await expectRefused(mint(sub.sid, { sid: 'SK' + '0'.repeat(32), secret: 'whatever' }), 'unknown-key', /does not exist \(unknown or deleted\)/);
    const doomed = await createKey(sub);
    expect((await resolver.resolve(mint(sub.sid, doomed))).ok).toBe(true);
    const del = await h.req('DELETE', `${accountPath(sub.sid)}/Keys/${doomed.sid}.json`, { auth: [sub.sid, sub.authToken] });
    expect(del.status).toBe(204);
    await expectRefused(mint(sub.sid, doomed), 'unknown-key');
  });

  it('refuses a token signed with another secret under a real key', async () => {
    await expectRefused(mint(sub.sid, { sid: subKey.sid, secret: subKey.secret + 'x' }), 'bad-signature');
  });

  it('says a key from before token support cannot verify tokens, and that a changed platform key leaves keys unreadable', async () => {
    const legacy = await createKey(sub);
    const store = apiKeyRecords(h.redis, h.prefix);
    const record = await store.get(legacy.sid);
    const { sealedSecret: _dropped, ...hashOnly } = record!;
    await store.replace(hashOnly);
    await expectRefused(mint(sub.sid, legacy), 'key-without-token-secret', /created before token support; create a new key/);
    // Still a working API credential.
    expect((await h.req('GET', `${accountPath(sub.sid)}/Calls.json`, { auth: [legacy.sid, legacy.secret] })).status).toBe(200);

    const rotated = new AccessTokenResolver({ redis: h.redis, keyPrefix: h.prefix, secrets: new SecretBox(randomBytes(32)) });
    await expectRefused(mint(sub.sid, subKey), 'key-unreadable', /another platform secrets key/, rotated);
    const none = new AccessTokenResolver({ redis: h.redis, keyPrefix: h.prefix, secrets: undefined });
    await expectRefused(mint(sub.sid, subKey), 'tokens-unavailable', /no secrets key/, none);
    // A sealed secret moved onto another key's record does not open there.
    await store.replace({ ...record!, sealedSecret: (await store.get(subKey.sid))!.sealedSecret! });
    await expectRefused(mint(sub.sid, legacy), 'key-unreadable', /damaged/);
  });

  it('checks times with the resolver clock', async () => {
    const late = new AccessTokenResolver({ redis: h.redis, keyPrefix: h.prefix, secrets, now: () => Date.now() + 2 * 3600_000 });
    await expectRefused(mint(sub.sid, subKey), 'expired', undefined, late);
  });

  it('refuses tokens for an unknown account, a closed one, a suspended one, and a subaccount of a suspended parent', async () => {
    await expectRefused(mint('AC' + '0'.repeat(32), parentKey), 'unknown-account', /does not exist/);

    const shop = await createSubaccount('Suspended shop');
    const shopKey = await createKey(shop);
    const suspend = await h.req('POST', `${accountPath(shop.sid)}.json`, { form: { Status: 'suspended' } });
    expect(suspend.status).toBe(200);
    await expectRefused(mint(shop.sid, shopKey), 'account-not-active', /is suspended/);
    expect((await h.req('POST', `${accountPath(shop.sid)}.json`, { form: { Status: 'active' } })).status).toBe(200);
    expect((await resolver.resolve(mint(shop.sid, shopKey))).ok).toBe(true);
    expect((await h.req('POST', `${accountPath(shop.sid)}.json`, { form: { Status: 'closed' } })).status).toBe(200);
    await expectRefused(mint(shop.sid, shopKey), 'account-closed', /is closed/);
    await expectRefused(mint(shop.sid, parentKey), 'account-closed');

    // A top-level account is suspended by the platform, not through the API.
    const accounts = new AccountStore(h.redis, h.prefix);
    await accounts.update(h.account.sid, { status: 'suspended' });
    try {
      await expectRefused(mint(sub.sid, subKey), 'account-not-active', new RegExp(`subaccount of ${h.account.sid}, which is suspended`));
      await expectRefused(mint(h.account.sid, parentKey), 'account-not-active');
    } finally {
      await accounts.update(h.account.sid, { status: 'active' });
    }
    expect((await resolver.resolve(mint(sub.sid, subKey))).ok).toBe(true);
  });
});
