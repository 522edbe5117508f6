/**
 * What the softphone page reads from a token before registering: tokens the
 * real `twilio` library mints (the README's two lines), and refusals, each
 * naming what is wrong.
 */
import { describe, expect, it } from 'vitest';
import twilio from 'twilio';
import { describeToken, describeValidity, IDENTITY, MAX_TOKEN_CHARS, MAX_TOKEN_RESPONSE_CHARS, MIN_REFRESH_DELAY_MS, readAccessToken, refreshDelayMs, tokenFromResponse } from '../../../../control-plane/client/token.js';
import { IDENTITY_PATTERN } from '../../../../regions/auth/access-token.js';

const { AccessToken } = twilio.jwt;
const { VoiceGrant } = AccessToken;
const ACCOUNT = 'AC' + 'a'.repeat(32);
const KEY = 'SK' + 'b'.repeat(32);
const APP = 'AP' + 'c'.repeat(32);

function mint(identity = 'alice', grant: ConstructorParameters<typeof VoiceGrant>[0] | null = { outgoingApplicationSid: APP, incomingAllow: true }, ttl?: number): string {
  const token = new AccessToken(ACCOUNT, KEY, 'secret-of-the-key', { identity, ...(ttl === undefined ? {} : { ttl }) });
  if (grant !== null) token.addGrant(new VoiceGrant(grant));
  return token.toJwt();
}
const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');
const handMade = (header: unknown, payload: unknown): string => `${b64(header)}.${b64(payload)}.c2ln`;

describe('readAccessToken', () => {
  it('reads identity, account, key, expiry and grants of a token the twilio library mints (whitespace around it ignored)', () => {
    const before = Date.now();
    const r = readAccessToken(`  ${mint()}\n`);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.token).not.toMatch(/\s/);
    expect(r.summary).toMatchObject({ identity: 'alice', accountSid: ACCOUNT, keySid: KEY, outgoingApplicationSid: APP, incomingAllow: true });
    // The library's default lifetime: one hour.
    expect(r.summary.expiresAtMs).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 3600_000);
    expect(r.summary.expiresAtMs).toBeLessThanOrEqual(before + 3600_000 + 1000);
  });

  it('reads a grant without outgoing application or incoming', () => {
    const r = readAccessToken(mint('bob', { incomingAllow: false }));
    expect(r.ok && r.summary).toMatchObject({ identity: 'bob', incomingAllow: false });
    expect(r.ok && r.summary.outgoingApplicationSid).toBeUndefined();
  });

  it.each([
    ['', 'no token'],
    ['a'.repeat(MAX_TOKEN_CHARS + 1), 'token too long'],
    ['not-a-jwt', 'expected three base64url parts'],
    ['a.b', 'expected three base64url parts'],
    ['a b.c.d', 'expected three base64url parts'],
    ['%%%.abc.def', 'expected three base64url parts'],
    ['abc.abc.def', 'not base64url JSON'],
    [`${b64([1])}.${b64({})}.x`, 'must be JSON objects'],
    [handMade({ alg: 'HS256', typ: 'JWT' }, {}), 'cty is not "twilio-fpa;v=1"'],
    [handMade({ cty: 'twilio-fpa;v=1' }, { exp: 1, sub: ACCOUNT, iss: KEY }), 'no grants'],
    [handMade({ cty: 'twilio-fpa;v=1' }, { grants: { voice: {} }, exp: 1, sub: ACCOUNT, iss: KEY }), 'no usable identity'],
    [handMade({ cty: 'twilio-fpa;v=1' }, { grants: { identity: 'a b', voice: {} }, exp: 1, sub: ACCOUNT, iss: KEY }), 'no usable identity'],
    [handMade({ cty: 'twilio-fpa;v=1' }, { grants: { identity: 'x'.repeat(122), voice: {} }, exp: 1, sub: ACCOUNT, iss: KEY }), 'no usable identity'],
    [mint('alice', null), 'no voice grant'],
    [handMade({ cty: 'twilio-fpa;v=1' }, { grants: { identity: 'a', voice: {} }, sub: ACCOUNT, iss: KEY }), 'no expiry'],
    [handMade({ cty: 'twilio-fpa;v=1' }, { grants: { identity: 'a', voice: {} }, exp: 'soon', sub: ACCOUNT, iss: KEY }), 'no expiry'],
    [handMade({ cty: 'twilio-fpa;v=1' }, { grants: { identity: 'a', voice: {} }, exp: 1 }), 'names no account'],
  ])('refuses %#: %s… with "%s"', (text, reason) => {
    const r = readAccessToken(text);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.reason).toContain(reason);
  });

  it('uses the identity rule of the platform verifier', () => {
    expect(IDENTITY.source).toBe(IDENTITY_PATTERN.source);
  });
});

describe('describeValidity / describeToken', () => {
  const now = 1_800_000_000_000;
  it.each([
    [{ expiresAtMs: now + 59 * 60_000 }, 'expires in 59 min', true],
    [{ expiresAtMs: now + 30_000 }, 'expires in 30 s', true],
    [{ expiresAtMs: now + 24 * 3600_000 }, 'expires in 24 h', true],
    [{ expiresAtMs: now - 3 * 60_000 }, 'expired 3 min ago', false],
    [{ expiresAtMs: now }, 'expired 0 s ago', false],
    [{ expiresAtMs: now + 3600_000, notBeforeMs: now + 10_000 }, 'not valid yet: valid in 10 s', false],
    [{ expiresAtMs: now + 3600_000, notBeforeMs: now - 10_000 }, 'expires in 60 min', true],
  ])('%o → %s', (summary, text, usable) => {
    expect(describeValidity(summary, now)).toEqual({ text, usable });
  });

  it('says who the token is for and what it may do', () => {
    const r = readAccessToken(mint());
    if (!r.ok) throw new Error(r.reason);
    expect(describeToken(r.summary, r.summary.expiresAtMs - 600_000)).toBe(`client:alice of ${ACCOUNT}, expires in 10 min; may call out, takes incoming calls`);
    expect(describeToken({ ...r.summary, outgoingApplicationSid: undefined, incomingAllow: false } as never, r.summary.expiresAtMs + 1000)).toContain('expired 1 s ago; may not call out, takes no incoming calls');
  });
});

describe('tokenFromResponse (the token URL answer)', () => {
  const token = mint();
  it('takes JSON {token} (the quick starts) and plain text', () => {
    expect(tokenFromResponse('application/json', JSON.stringify({ identity: 'alice', token }))).toMatchObject({ ok: true, token });
    expect(tokenFromResponse(null, JSON.stringify({ token }))).toMatchObject({ ok: true, token });
    expect(tokenFromResponse('text/plain', `${token}\n`)).toMatchObject({ ok: true, token });
  });
  it.each([
    ['application/json', '{"token": ', 'does not parse'],
    ['application/json', '{"jwt": "x"}', 'without a "token" string'],
    ['application/json', '[1]', 'without a "token" string'],
    ['text/plain', 'x'.repeat(MAX_TOKEN_RESPONSE_CHARS + 1), 'more than'],
    ['text/html', '<html>login</html>', 'not an access token'],
  ])('%s %s → %s', (type, body, reason) => {
    const r = tokenFromResponse(type, body);
    expect(!r.ok && r.reason).toContain(reason);
  });
});

describe('refreshDelayMs', () => {
  const now = 1_800_000_000_000;
  it.each([
    [3600_000, 3540_000],
    [120_000, 60_000],
    [100_000, 50_000],
    [20_000, 10_000],
    [8_000, MIN_REFRESH_DELAY_MS],
    [0, MIN_REFRESH_DELAY_MS],
    [-60_000, MIN_REFRESH_DELAY_MS],
  ])('a token with %i ms left is refreshed after %i ms', (left, delay) => {
    expect(refreshDelayMs(now + left, now)).toBe(delay);
  });
});
