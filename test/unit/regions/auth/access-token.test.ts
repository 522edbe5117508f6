/**
 * The pure verifier against tokens minted by the real `twilio` library
 * (`jwt.AccessToken` + `VoiceGrant`), and hand-made JWTs for what the library
 * never produces (alg none, other headers, malformed parts, bad claim types).
 */
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import twilio from 'twilio';
import {
  decodeAccessToken,
  MAX_TOKEN_BYTES,
  requireVoiceGrant,
  verifyAccessToken,
  type AccessTokenClaims,
} from '../../../../regions/auth/access-token.js';
import { refusalError, type TokenRefusalReason } from '../../../../regions/auth/token-refusal.js';

const { AccessToken } = twilio.jwt;
const { VoiceGrant } = AccessToken;

const ACCOUNT = 'AC' + '1'.repeat(32);
const KEY = 'SK' + '2'.repeat(32);
const APP = 'AP' + '3'.repeat(32);
const SECRET = 'k3y-s3cret-as-the-api-returns-it';

interface MintOptions {
  account?: string;
  key?: string;
  secret?: string;
  identity?: string;
  ttl?: number;
  nbf?: number;
  region?: string;
  grant?: ConstructorParameters<typeof VoiceGrant>[0] | null;
  algorithm?: 'HS256' | 'HS384' | 'HS512';
}

/** A token as a tenant's backend mints it with the `twilio` library. */
function mint(o: MintOptions = {}): string {
  const token = new AccessToken(o.account ?? ACCOUNT, o.key ?? KEY, o.secret ?? SECRET, {
    identity: o.identity ?? 'alice',
    ...(o.ttl === undefined ? {} : { ttl: o.ttl }),
    ...(o.nbf === undefined ? {} : { nbf: o.nbf }),
    ...(o.region === undefined ? {} : { region: o.region }),
  });
  const grant = o.grant === undefined ? { outgoingApplicationSid: APP, incomingAllow: true } : o.grant;
  if (grant !== null) token.addGrant(new VoiceGrant(grant));
  return token.toJwt(o.algorithm);
}

const b64 = (v: unknown): string => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

/** A JWT made by hand, HMAC-SHA256 over header.payload unless a signature is given. */
function handMade(header: unknown, payload: unknown, signature?: string): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${signature ?? createHmac('sha256', SECRET).update(input).digest('base64url')}`;
}

const nowS = (): number => Math.floor(Date.now() / 1000);
const HEADER = { alg: 'HS256', typ: 'JWT', cty: 'twilio-fpa;v=1' };
function payload(extra: Record<string, unknown> = {}): Record<string, unknown> {
  const iat = nowS();
  return { jti: `${KEY}-${iat}`, iss: KEY, sub: ACCOUNT, iat, exp: iat + 3600, grants: { identity: 'alice', voice: { incoming: { allow: true } } }, ...extra };
}

function verify(token: string, offsetSeconds = 0, secret = SECRET) {
  return verifyAccessToken(token, secret, { nowMs: Date.now() + offsetSeconds * 1000 });
}

function claims(token: string, offsetSeconds = 0): AccessTokenClaims {
  const r = verify(token, offsetSeconds);
  if (!r.ok) throw new Error(`refused: ${r.reason}: ${r.message}`);
  return r.claims;
}

function expectRefused(token: string, reason: TokenRefusalReason, message?: RegExp, offsetSeconds = 0, secret = SECRET): void {
  const r = verify(token, offsetSeconds, secret);
  expect(r.ok, `expected ${reason}`).toBe(false);
  if (r.ok) return;
  expect(r.reason).toBe(reason);
  if (message !== undefined) expect(r.message).toMatch(message);
  expect(r.message).not.toContain(secret);
}

describe('access tokens minted by the twilio library', () => {
  it('verifies a voice token with outgoing (and params) and incoming grants, unchanged', () => {
    const token = mint({ ttl: 600, grant: { outgoingApplicationSid: APP, outgoingApplicationParams: { agent: 'bob', priority: 2, vip: true }, incomingAllow: true } });
    const c = claims(token);
    expect(c).toMatchObject({ keySid: KEY, accountSid: ACCOUNT, identity: 'alice', voice: { incomingAllow: true, outgoing: { applicationSid: APP } } });
    expect({ ...c.voice.outgoing?.params }).toEqual({ agent: 'bob', priority: '2', vip: 'true' });
    expect(c.expiresAt - c.issuedAt!).toBe(600);
    expect(c.jti).toBe(`${KEY}-${c.issuedAt}`);
    expect(requireVoiceGrant(c, 'incoming')).toBeUndefined();
    expect(requireVoiceGrant(c, 'outgoing')).toBeUndefined();
  });

  it('keeps the twr region header, and accepts an identity with the allowed punctuation', () => {
    const c = claims(mint({ region: 'ie1', identity: 'alice.smith+1@example.com' }));
    expect(c.region).toBe('ie1');
    expect(c.identity).toBe('alice.smith+1@example.com');
  });

  it('accepts the full 24 h, and a token with only one of the grants, naming the grant it lacks', () => {
    expect(claims(mint({ ttl: 86400 })).expiresAt).toBeGreaterThan(nowS() + 86000);
    const incomingOnly = claims(mint({ grant: { incomingAllow: true } }));
    expect(incomingOnly.voice).toEqual({ incomingAllow: true });
    expect(requireVoiceGrant(incomingOnly, 'outgoing')).toMatchObject({ reason: 'missing-grant', message: /outgoing/ });
    const outgoingOnly = claims(mint({ grant: { outgoingApplicationSid: APP } }));
    expect(outgoingOnly.voice.incomingAllow).toBe(false);
    expect(requireVoiceGrant(outgoingOnly, 'incoming')).toMatchObject({ reason: 'missing-grant', message: /incoming/ });
  });

  it('refuses an expired token, within the clock leeway only', () => {
    const token = mint({ ttl: 60 });
    expect(claims(token, 60 + 29).identity).toBe('alice');
    expectRefused(token, 'expired', /expired at \d{4}-/, 60 + 31);
  });

  it('refuses a token not yet valid (nbf), and one issued in the future (iat)', () => {
    const token = mint({ nbf: nowS() + 600, ttl: 3600 });
    expectRefused(token, 'not-yet-valid', /not valid before/);
    expect(claims(token, 600).identity).toBe('alice');
    // Minted now, checked by a clock 5 minutes behind.
    expectRefused(mint(), 'not-yet-valid', /issued in the future/, -300);
  });

  it('refuses a wrongly signed token: another secret, or a payload changed after signing', () => {
    expectRefused(mint({ secret: 'another-secret' }), 'bad-signature', new RegExp(`secret of key ${KEY}`));
    const [h, p, s] = mint().split('.') as [string, string, string];
    const changed = JSON.parse(Buffer.from(p, 'base64url').toString()) as { grants: { identity: string } };
    changed.grants.identity = 'mallory';
    expectRefused(`${h}.${b64(changed)}.${s}`, 'bad-signature');
    expectRefused(`${h}.${p}.`, 'malformed');
    expectRefused(`${h}.${p}.${s.slice(0, -4)}`, 'bad-signature');
  });

  it('refuses tokens valid for more than 24 h', () => {
    expectRefused(mint({ ttl: 86401 }), 'lifetime-too-long', /at most 86400 s/);
    expectRefused(mint({ ttl: 7 * 86400 }), 'lifetime-too-long');
    // Without iat and nbf the validity counts from now.
    expectRefused(handMade(HEADER, payload({ iat: undefined, exp: nowS() + 90000 })), 'lifetime-too-long');
    expect(verify(handMade(HEADER, payload({ iat: undefined, exp: nowS() + 3600 }))).ok).toBe(true);
  });

  it('refuses a token without a voice grant, or whose voice grant allows nothing', () => {
    expectRefused(mint({ grant: null }), 'missing-grant', /no voice grant/);
    expectRefused(mint({ grant: {} }), 'missing-grant', /neither outgoing .* nor incoming/);
    expectRefused(mint({ grant: { incomingAllow: false } }), 'missing-grant');
    expectRefused(handMade(HEADER, payload({ grants: undefined })), 'missing-grant', /no grants/);
  });

  it('accepts HS256 only: HS384/HS512 from the library, none, RS256 are refused before anything else', () => {
    expectRefused(mint({ algorithm: 'HS384' }), 'unsupported-algorithm', /HS384.*only HS256/);
    expectRefused(mint({ algorithm: 'HS512' }), 'unsupported-algorithm');
    expectRefused(handMade({ ...HEADER, alg: 'none' }, payload(), ''), 'unsupported-algorithm', /"none"/);
    expectRefused(`${b64({ ...HEADER, alg: 'none' })}.${b64(payload())}.`, 'unsupported-algorithm');
    expectRefused(handMade({ ...HEADER, alg: 'RS256' }, payload()), 'unsupported-algorithm');
    expectRefused(handMade({ cty: HEADER.cty }, payload()), 'unsupported-algorithm', /nothing/);
  });

  it('checks the header: content type, typ, crit', () => {
    expectRefused(handMade({ alg: 'HS256', typ: 'JWT' }, payload()), 'bad-header', /cty must be "twilio-fpa;v=1"/);
    expectRefused(handMade({ ...HEADER, cty: 'JWT' }, payload()), 'bad-header');
    expectRefused(handMade({ ...HEADER, typ: 'JOSE+JSON' }, payload()), 'bad-header', /typ/);
    expectRefused(handMade({ ...HEADER, crit: ['exp'] }, payload()), 'bad-header', /crit/);
    expect(verify(handMade({ alg: 'HS256', cty: HEADER.cty }, payload())).ok).toBe(true);
  });

  it('bounds the token size (8 KiB)', () => {
    const params: Record<string, string> = {};
    for (let i = 0; i < 30; i++) params[`p${i}`] = 'x'.repeat(300);
    const big = mint({ grant: { outgoingApplicationSid: APP, outgoingApplicationParams: params } });
    expect(big.length).toBeGreaterThan(MAX_TOKEN_BYTES);
    expectRefused(big, 'too-large', /at most 8192/);
    expectRefused('a'.repeat(1_000_000), 'too-large');
  });

  it('refuses what is not a JWT', () => {
    for (const junk of ['', 'abc', 'a.b', 'a.b.c.d', '..', `${b64(HEADER)}.!!!.sig`, `${b64('[1]')}.${b64(payload())}.x`, `${b64(HEADER)}.${b64('"str"')}.x`, `${b64(HEADER)}.${b64(payload())}.a+b/`]) {
      expectRefused(junk, 'malformed');
    }
    expect(decodeAccessToken(`${b64('{not json')}.${b64(payload())}.x`)).toMatchObject({ ok: false, reason: 'malformed' });
  });

  it('checks iss (API key SID) and sub (account SID) formats', () => {
    expectRefused(mint({ key: 'SKnot-a-key' }), 'bad-issuer', /iss must be an API key SID .* got "SKnot-a-key"/);
    expectRefused(mint({ key: ACCOUNT }), 'bad-issuer');
    expectRefused(mint({ key: 'SK' + 'A'.repeat(32) }), 'bad-issuer');
    expectRefused(mint({ account: 'AC123' }), 'bad-subject', /sub must be an account SID/);
    expectRefused(mint({ account: `${ACCOUNT}:usage` }), 'bad-subject');
    expectRefused(handMade(HEADER, payload({ iss: 7 })), 'bad-issuer', /got 7/);
  });

  it('checks the identity: present, 1-121 characters, no spaces or control characters', () => {
    expectRefused(mint({ identity: 'alice smith' }), 'bad-identity', /got "alice smith"/);
    expectRefused(mint({ identity: 'a'.repeat(122) }), 'bad-identity');
    expectRefused(mint({ identity: 'bob\r\nVia: x' }), 'bad-identity');
    expectRefused(mint({ identity: 'sip:alice;x=y' }), 'bad-identity');
    expect(claims(mint({ identity: 'a'.repeat(121) })).identity).toHaveLength(121);
    expectRefused(handMade(HEADER, payload({ grants: { voice: { incoming: { allow: true } } } })), 'bad-identity', /got nothing/);
  });

  it('checks the grants shapes and the time claims types', () => {
    expectRefused(mint({ grant: { outgoingApplicationSid: 'AP-nope' } }), 'bad-claims', /application_sid must be an application SID/);
    expectRefused(mint({ grant: { outgoingApplicationSid: APP, outgoingApplicationParams: { nested: { a: 1 } } as never } }), 'bad-claims', /params entry "nested" must be a string/);
    const many: Record<string, string> = {};
    for (let i = 0; i < 33; i++) many[`p${i}`] = 'v';
    expectRefused(mint({ grant: { outgoingApplicationSid: APP, outgoingApplicationParams: many } }), 'bad-claims', /33 entries; at most 32/);
    expectRefused(mint({ grant: { outgoingApplicationSid: APP, outgoingApplicationParams: { long: 'x'.repeat(1025) } } }), 'bad-claims', /over 1024/);
    expectRefused(handMade(HEADER, payload({ grants: { identity: 'alice', voice: { incoming: { allow: 'yes' } } } })), 'bad-claims', /incoming/);
    expectRefused(handMade(HEADER, payload({ grants: { identity: 'alice', voice: [] } })), 'bad-claims');
    expectRefused(handMade(HEADER, payload({ exp: undefined })), 'bad-claims', /exp is required/);
    expectRefused(handMade(HEADER, payload({ exp: String(nowS() + 60) })), 'bad-claims', /exp must be a NumericDate/);
    expectRefused(handMade(HEADER, payload({ nbf: -1 })), 'bad-claims', /nbf/);
    expectRefused(handMade(HEADER, payload({ jti: 'x'.repeat(257) })), 'bad-claims', /jti/);
  });

  it('maps refusals to catalogue errors: 401 for credentials, 403 for scope', () => {
    const expired = verify(mint({ ttl: 60 }), 120);
    const noGrant = verify(mint({ grant: null }));
    if (expired.ok || noGrant.ok) throw new Error('expected refusals');
    const e401 = refusalError(expired);
    expect([e401.code, e401.httpStatus, e401.sipStatus, e401.detail]).toEqual(['UNAUTHORIZED', 401, 401, { tokenRefusal: 'expired' }]);
    expect(e401.message).toMatch(/^access token refused \(expired\): token expired at/);
    expect(refusalError(noGrant)).toMatchObject({ code: 'FORBIDDEN', sipStatus: 403 });
  });
});
