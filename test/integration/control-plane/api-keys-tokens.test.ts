/**
 * API keys sign access tokens: a key made through the Keys API (the twilio
 * library's own client), a token minted with its secret by the twilio
 * library's `jwt.AccessToken`, verified against the store; deleted, the key's
 * tokens are refused. The secret is at rest only hashed and sealed (never in
 * clear) and never rendered again.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import twilio from 'twilio';
import RequestClient from 'twilio/lib/base/RequestClient.js';
import { SecretBox } from '../../../regions/auth/secret-box.js';
import { AccessTokenResolver } from '../../../regions/auth/token-resolver.js';
import { keys } from '../../../regions/store/keys.js';
import { startApiHarness, type ApiHarness } from './api-harness.js';

class LocalRequestClient extends RequestClient {
  constructor(private readonly base: string) {
    super();
  }
  override request<T>(opts: RequestClient.RequestOptions<T>) {
    return super.request({ ...opts, uri: opts.uri.replace(/^https:\/\/api\.twilio\.com/, this.base) });
  }
}

const secrets = new SecretBox(randomBytes(32));
let h: ApiHarness;

beforeAll(async () => {
  h = await startApiHarness('it-api-key-tokens:', { secrets });
});
afterAll(async () => {
  await h?.close();
});

describe('API keys and access tokens', () => {
  it('verifies a token signed with a key the API created, and refuses it once the key is deleted', async () => {
    const client = twilio(h.account.sid, h.account.authToken, { httpClient: new LocalRequestClient(h.url) });
    const key = await client.newKeys.create({ friendlyName: 'browser tokens' });
    const app = await client.applications.create({ friendlyName: 'softphone', voiceUrl: 'http://127.0.0.1:9/voice' });
    expect(key.sid).toMatch(/^SK[0-9a-f]{32}$/);

    const token = new twilio.jwt.AccessToken(h.account.sid, key.sid, key.secret, { identity: 'alice', ttl: 3600 });
    token.addGrant(new twilio.jwt.AccessToken.VoiceGrant({ outgoingApplicationSid: app.sid, outgoingApplicationParams: { team: 'sales' }, incomingAllow: true }));
    const jwt = token.toJwt();

    const resolver = new AccessTokenResolver({ redis: h.redis, keyPrefix: h.prefix, secrets });
    const ok = await resolver.resolve(jwt);
    if (!ok.ok) throw new Error(`${ok.reason}: ${ok.message}`);
    expect(ok.claims).toMatchObject({ keySid: key.sid, accountSid: h.account.sid, identity: 'alice', voice: { incomingAllow: true, outgoing: { applicationSid: app.sid } } });
    expect({ ...ok.claims.voice.outgoing?.params }).toEqual({ team: 'sales' });
    expect(ok.application?.sid).toBe(app.sid);

    await client.keys(key.sid).remove();
    const refused = await resolver.resolve(jwt);
    expect(refused).toMatchObject({ ok: false, reason: 'unknown-key', message: `API key ${key.sid} does not exist (unknown or deleted)` });
  });

  it('keeps the secret hashed and sealed at rest, and renders neither', async () => {
    const created = await h.req('POST', `/2010-04-01/Accounts/${h.account.sid}/Keys.json`, { form: { FriendlyName: 'k' } });
    expect(created.status).toBe(201);
    const { sid, secret } = created.body as { sid: string; secret: string };
    const raw = (await h.redis.get(keys(h.prefix).apiKey(sid)))!;
    expect(raw).not.toContain(secret);
    const stored = JSON.parse(raw) as { sealedSecret: string; secretHash: string };
    expect(stored.sealedSecret.startsWith(`v1.${secrets.keyId}.`)).toBe(true);
    expect(secrets.open(stored.sealedSecret, sid)).toEqual({ ok: true, plaintext: secret });
    const fetched = await h.req('GET', `/2010-04-01/Accounts/${h.account.sid}/Keys/${sid}.json`);
    const listed = await h.req('GET', `/2010-04-01/Accounts/${h.account.sid}/Keys.json`);
    for (const body of [created.body, fetched.body, listed.body]) expect(JSON.stringify(body)).not.toMatch(/sealed|secret_hash|v1\./);
    expect(Object.keys(fetched.body).sort()).toEqual(['date_created', 'date_updated', 'friendly_name', 'sid']);
  });
});
