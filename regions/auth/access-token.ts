/**
 * Access tokens as tenants already mint them: the `twilio` library's
 * `jwt.AccessToken` with a `VoiceGrant` — a JWT (RFC 7519) signed with HS256
 * (RFC 7518 §3.2) by an API key's secret:
 *
 *   header  {alg: "HS256", typ: "JWT", cty: "twilio-fpa;v=1", twr?: region}
 *   payload {iss: SK…, sub: AC…, jti, iat, nbf?, exp,
 *            grants: {identity, voice: {outgoing?: {application_sid, params?}, incoming?: {allow: true}}}}
 *
 * Pure: no store, no clock of its own (the caller passes `now`). `decodeAccessToken`
 * reads what can be read without the key (so the resolver knows which key to load);
 * `verifyDecodedAccessToken` checks the signature, then the times, then the grants.
 * Everything is bounded: the token (8 KiB), every string claim, the params.
 * Only HS256 is accepted: `none` and every other algorithm are refused before
 * anything else is looked at (RFC 8725 §3.1), whatever the header claims.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { isSid } from '../store/sids.js';
import { refuse, type TokenRefusal } from './token-refusal.js';

/** Largest token accepted (characters); the `twilio` library's tokens are well under 1 KiB. */
export const MAX_TOKEN_BYTES = 8192;
/** Longest validity (exp − issue time), as the platform that defined the format allows: 24 h. */
export const MAX_TOKEN_LIFETIME_SECONDS = 86400;
/** Clock difference tolerated between the tenant's backend and us, by default. */
export const DEFAULT_CLOCK_LEEWAY_SECONDS = 30;
export const TOKEN_CONTENT_TYPE = 'twilio-fpa;v=1';
/** Identity: what `client:<identity>` is made of. Letters, digits and `_ . @ + -`, 1..121 characters. */
export const IDENTITY_PATTERN = /^[A-Za-z0-9_.@+-]{1,121}$/;
export const MAX_OUTGOING_PARAMS = 32;
const MAX_PARAM_NAME = 128;
const MAX_PARAM_VALUE = 1024;
const MAX_JTI = 256;
const MAX_REGION = 64;
const B64URL = /^[A-Za-z0-9_-]+$/;

export interface VoiceGrant {
  /** `grants.voice.incoming.allow`: the identity may receive calls (register). */
  incomingAllow: boolean;
  /** `grants.voice.outgoing`: the application its calls run, with the token's parameters (values as strings). */
  outgoing?: { applicationSid: string; params: Record<string, string> };
}

export interface AccessTokenClaims {
  /** `iss`: the API key that signed it. */
  keySid: string;
  /** `sub`: the account the token acts for. */
  accountSid: string;
  /** `grants.identity`. */
  identity: string;
  voice: VoiceGrant;
  jti?: string;
  /** Seconds since the epoch. */
  issuedAt?: number;
  notBefore?: number;
  expiresAt: number;
  /** Header `twr`: the region the minting library was told (informative). */
  region?: string;
}

export interface DecodedAccessToken {
  ok: true;
  keySid: string;
  accountSid: string;
  /** Header and payload as parsed; only `verifyDecodedAccessToken` turns them into claims. */
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
  signingInput: string;
  signature: Buffer;
}

export type TokenCheck<T> = ({ ok: true } & T) | TokenRefusal;
export type VerifiedAccessToken = { ok: true; claims: AccessTokenClaims };

export interface VerifyOptions {
  /** Now, in ms since the epoch. */
  nowMs: number;
  /** Tolerated clock difference, seconds. Default 30. */
  leewaySeconds?: number;
}

function jsonObject(part: string): Record<string, unknown> | undefined {
  if (!B64URL.test(part)) return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Reads header and payload and checks what needs no key: size, shape, algorithm, content type, `iss`, `sub`. */
export function decodeAccessToken(token: string): DecodedAccessToken | TokenRefusal {
  if (token.length > MAX_TOKEN_BYTES) return refuse('too-large', `token is ${token.length} characters; at most ${MAX_TOKEN_BYTES}`);
  const parts = token.split('.');
  if (parts.length !== 3) return refuse('malformed', 'not a JWT: expected header.payload.signature');
  const [h, p, s] = parts as [string, string, string];
  const header = jsonObject(h);
  if (header === undefined) return refuse('malformed', 'JWT header is not base64url-encoded JSON object');
  // The algorithm first: nothing else of an unsigned or otherwise-signed token is worth reading.
  if (header.alg !== 'HS256') return refuse('unsupported-algorithm', `algorithm ${printable(header.alg)} is not accepted; only HS256`);
  if (header.cty !== TOKEN_CONTENT_TYPE) return refuse('bad-header', `header cty must be "${TOKEN_CONTENT_TYPE}", got ${printable(header.cty)}`);
  if (header.typ !== undefined && header.typ !== 'JWT') return refuse('bad-header', `header typ must be "JWT", got ${printable(header.typ)}`);
  if (header.crit !== undefined) return refuse('bad-header', 'header crit is not supported'); // RFC 7515 §4.1.11
  const payload = jsonObject(p);
  if (payload === undefined) return refuse('malformed', 'JWT payload is not base64url-encoded JSON object');
  if (!B64URL.test(s)) return refuse('malformed', 'JWT signature is not base64url');
  const signature = Buffer.from(s, 'base64url');
  if (typeof payload.iss !== 'string' || !isSid(payload.iss, 'SK')) return refuse('bad-issuer', `iss must be an API key SID (SK + 32 hex), got ${printable(payload.iss)}`);
  if (typeof payload.sub !== 'string' || !isSid(payload.sub, 'AC')) return refuse('bad-subject', `sub must be an account SID (AC + 32 hex), got ${printable(payload.sub)}`);
  return { ok: true, keySid: payload.iss, accountSid: payload.sub, header, payload, signingInput: `${h}.${p}`, signature };
}

/** Signature (constant-time), then times, then identity and grants. `secret` is the API key's secret as the tenant holds it. */
export function verifyDecodedAccessToken(decoded: DecodedAccessToken, secret: string, opts: VerifyOptions): VerifiedAccessToken | TokenRefusal {
  const expected = createHmac('sha256', Buffer.from(secret, 'utf8')).update(decoded.signingInput).digest();
  if (decoded.signature.length !== expected.length || !timingSafeEqual(decoded.signature, expected)) {
    return refuse('bad-signature', `signature does not verify with the secret of key ${decoded.keySid}`);
  }
  const times = checkTimes(decoded.payload, opts);
  if (!times.ok) return times;
  const grants = decoded.payload.grants;
  if (typeof grants !== 'object' || grants === null || Array.isArray(grants)) return refuse('missing-grant', 'token has no grants');
  const g = grants as Record<string, unknown>;
  if (typeof g.identity !== 'string' || !IDENTITY_PATTERN.test(g.identity)) {
    return refuse('bad-identity', `grants.identity must be 1-121 characters of letters, digits, _ . @ + -; got ${printable(g.identity)}`);
  }
  const voice = voiceGrant(g.voice);
  if (!voice.ok) return voice;
  const { jti } = decoded.payload;
  if (jti !== undefined && (typeof jti !== 'string' || jti.length > MAX_JTI)) return refuse('bad-claims', `jti must be a string of at most ${MAX_JTI} characters`);
  const twr = decoded.header.twr;
  const claims: AccessTokenClaims = {
    keySid: decoded.keySid,
    accountSid: decoded.accountSid,
    identity: g.identity,
    voice: voice.grant,
    expiresAt: times.exp,
    ...(typeof jti === 'string' ? { jti } : {}),
    ...(times.iat === undefined ? {} : { issuedAt: times.iat }),
    ...(times.nbf === undefined ? {} : { notBefore: times.nbf }),
    ...(typeof twr === 'string' && twr.length <= MAX_REGION ? { region: twr } : {}),
  };
  return { ok: true, claims };
}

/** Decode and verify in one step, when the secret is known. */
export function verifyAccessToken(token: string, secret: string, opts: VerifyOptions): VerifiedAccessToken | TokenRefusal {
  const decoded = decodeAccessToken(token);
  return decoded.ok ? verifyDecodedAccessToken(decoded, secret, opts) : decoded;
}

/** Whether the verified token allows `what`; the refusal names the grant that is missing. */
export function requireVoiceGrant(claims: AccessTokenClaims, what: 'incoming' | 'outgoing'): TokenRefusal | undefined {
  if (what === 'incoming' && !claims.voice.incomingAllow) return refuse('missing-grant', 'token does not allow incoming calls (grants.voice.incoming.allow)');
  if (what === 'outgoing' && claims.voice.outgoing === undefined) return refuse('missing-grant', 'token does not allow outgoing calls (grants.voice.outgoing.application_sid)');
  return undefined;
}

function numericDate(payload: Record<string, unknown>, name: 'exp' | 'iat' | 'nbf'): number | undefined | TokenRefusal {
  const v = payload[name];
  if (v === undefined) return undefined;
  // RFC 7519 §2 NumericDate: seconds since the epoch; bounded so arithmetic stays exact.
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 1e11) return refuse('bad-claims', `${name} must be a NumericDate (seconds since the epoch)`);
  return v;
}

function checkTimes(payload: Record<string, unknown>, opts: VerifyOptions): { ok: true; exp: number; iat?: number; nbf?: number } | TokenRefusal {
  const exp = numericDate(payload, 'exp');
  const iat = numericDate(payload, 'iat');
  const nbf = numericDate(payload, 'nbf');
  for (const t of [exp, iat, nbf]) if (typeof t === 'object') return t;
  if (typeof exp !== 'number') return refuse('bad-claims', 'exp is required');
  const leeway = opts.leewaySeconds ?? DEFAULT_CLOCK_LEEWAY_SECONDS;
  const now = opts.nowMs / 1000;
  if (now >= exp + leeway) return refuse('expired', `token expired at ${iso(exp)}`);
  if (typeof nbf === 'number' && now + leeway < nbf) return refuse('not-yet-valid', `token is not valid before ${iso(nbf)}`);
  if (typeof iat === 'number' && now + leeway < iat) return refuse('not-yet-valid', `token is issued in the future (${iso(iat)})`);
  // Validity counts from the earliest stated start (issue time or not-before), else from now.
  const starts = [iat, nbf].filter((t): t is number => typeof t === 'number');
  const start = starts.length === 0 ? now : Math.min(...starts);
  if (exp - start > MAX_TOKEN_LIFETIME_SECONDS || exp - now > MAX_TOKEN_LIFETIME_SECONDS + leeway) {
    return refuse('lifetime-too-long', `token is valid for ${Math.round(exp - start)} s; at most ${MAX_TOKEN_LIFETIME_SECONDS} s (24 h)`);
  }
  return { ok: true, exp, ...(typeof iat === 'number' ? { iat } : {}), ...(typeof nbf === 'number' ? { nbf } : {}) };
}

function voiceGrant(v: unknown): { ok: true; grant: VoiceGrant } | TokenRefusal {
  if (v === undefined) return refuse('missing-grant', 'token has no voice grant (grants.voice)');
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return refuse('bad-claims', 'grants.voice must be an object');
  const voice = v as Record<string, unknown>;
  let incomingAllow = false;
  if (voice.incoming !== undefined) {
    const inc = voice.incoming as Record<string, unknown> | null;
    if (typeof inc !== 'object' || inc === null || (inc.allow !== undefined && typeof inc.allow !== 'boolean')) {
      return refuse('bad-claims', 'grants.voice.incoming must be {allow: boolean}');
    }
    incomingAllow = inc.allow === true;
  }
  let outgoing: VoiceGrant['outgoing'];
  if (voice.outgoing !== undefined) {
    const out = voice.outgoing as Record<string, unknown> | null;
    if (typeof out !== 'object' || out === null) return refuse('bad-claims', 'grants.voice.outgoing must be an object');
    if (typeof out.application_sid !== 'string' || !isSid(out.application_sid, 'AP')) {
      return refuse('bad-claims', `grants.voice.outgoing.application_sid must be an application SID (AP + 32 hex), got ${printable(out.application_sid)}`);
    }
    const params = outgoingParams(out.params);
    if (!params.ok) return params;
    outgoing = { applicationSid: out.application_sid, params: params.params };
  }
  if (!incomingAllow && outgoing === undefined) return refuse('missing-grant', 'voice grant allows neither outgoing calls (outgoing.application_sid) nor incoming calls (incoming.allow)');
  return { ok: true, grant: { incomingAllow, ...(outgoing === undefined ? {} : { outgoing }) } };
}

/** `outgoing.params`: a flat object of scalars, passed to the application as strings. */
function outgoingParams(p: unknown): { ok: true; params: Record<string, string> } | TokenRefusal {
  const params: Record<string, string> = Object.create(null) as Record<string, string>;
  if (p === undefined) return { ok: true, params };
  if (typeof p !== 'object' || p === null || Array.isArray(p)) return refuse('bad-claims', 'grants.voice.outgoing.params must be an object');
  const entries = Object.entries(p);
  if (entries.length > MAX_OUTGOING_PARAMS) return refuse('bad-claims', `grants.voice.outgoing.params has ${entries.length} entries; at most ${MAX_OUTGOING_PARAMS}`);
  for (const [name, value] of entries) {
    if (name.length === 0 || name.length > MAX_PARAM_NAME || /[\u0000-\u001f\u007f]/.test(name)) {
      return refuse('bad-claims', `grants.voice.outgoing.params: name ${printable(name)} must be 1-${MAX_PARAM_NAME} printable characters`);
    }
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      return refuse('bad-claims', `grants.voice.outgoing.params entry ${printable(name)} must be a string, number or boolean`);
    }
    const text = String(value);
    if (text.length > MAX_PARAM_VALUE) return refuse('bad-claims', `grants.voice.outgoing.params entry ${printable(name)} is over ${MAX_PARAM_VALUE} characters`);
    params[name] = text;
  }
  return { ok: true, params };
}

function iso(seconds: number): string {
  return new Date(seconds * 1000).toISOString();
}

/** A claim value as it may appear in a message: short, one line, no control characters. */
function printable(v: unknown): string {
  if (v === undefined) return 'nothing';
  const text = typeof v === 'string' ? JSON.stringify(v) : typeof v === 'object' ? (v === null ? 'null' : 'an object') : String(v);
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
  return clean.length > 48 ? `${clean.slice(0, 45)}...` : clean;
}
