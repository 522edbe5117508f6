/**
 * What the softphone page reads from an access token, without verifying it
 * (only the signaling node can: it holds the key's secret). The page needs
 * the identity to build its SIP address and shows who the token is for and
 * when it expires, so a user sees an expired or wrong token before
 * registering. Pure: no DOM, unit-tested with tokens the `twilio` library mints.
 */

/** Longest token the page takes; the signaling node reads no longer one from a header either. */
export const MAX_TOKEN_CHARS = 8192;

export interface TokenSummary {
  /** `grants.identity`: the page registers as `client:<identity>`. */
  identity: string;
  /** `sub`. */
  accountSid: string;
  /** `iss`: the API key that signed it. */
  keySid: string;
  /** `exp`, ms since the epoch. */
  expiresAtMs: number;
  /** `nbf`, ms since the epoch, when present. */
  notBeforeMs?: number;
  /** `grants.voice.outgoing.application_sid`, when the token may place calls. */
  outgoingApplicationSid?: string;
  /** `grants.voice.incoming.allow`. */
  incomingAllow: boolean;
}

export type TokenReading = { ok: true; token: string; summary: TokenSummary } | { ok: false; reason: string };

const JWT = /^([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]*)$/;
/** What `client:<identity>` may carry: the same rule as the verifier's (regions/auth/access-token.ts IDENTITY_PATTERN; a unit test keeps them equal). */
export const IDENTITY = /^[A-Za-z0-9_.@+-]{1,121}$/;

function decodeSegment(segment: string): unknown {
  const base64 = segment.replace(/-/g, '+').replace(/_/g, '/');
  const binary = atob(base64 + '='.repeat((4 - (base64.length % 4)) % 4));
  const bytes = Uint8Array.from(binary, (ch) => ch.charCodeAt(0));
  return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)) as unknown;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Reads a pasted token: trims it, checks its shape (a JWT, at most
 * MAX_TOKEN_CHARS) and the claims the page uses. A refusal names what is
 * wrong, for the page to show as it is.
 */
export function readAccessToken(text: string): TokenReading {
  const token = text.trim();
  if (token === '') return { ok: false, reason: 'no token: paste one or fetch it from your token URL' };
  if (token.length > MAX_TOKEN_CHARS) return { ok: false, reason: `token too long (${token.length} characters, at most ${MAX_TOKEN_CHARS})` };
  const parts = JWT.exec(token);
  if (parts === null) return { ok: false, reason: 'not an access token: expected three base64url parts separated by dots (a JWT)' };
  let header: unknown;
  let payload: unknown;
  try {
    header = decodeSegment(parts[1]!);
    payload = decodeSegment(parts[2]!);
  } catch {
    return { ok: false, reason: 'not an access token: its header or payload is not base64url JSON' };
  }
  if (!isObject(header) || !isObject(payload)) return { ok: false, reason: 'not an access token: header and payload must be JSON objects' };
  if (header['cty'] !== 'twilio-fpa;v=1') return { ok: false, reason: 'not an access token: header cty is not "twilio-fpa;v=1"' };
  const grants = payload['grants'];
  if (!isObject(grants)) return { ok: false, reason: 'token has no grants' };
  const identity = grants['identity'];
  if (typeof identity !== 'string' || !IDENTITY.test(identity)) return { ok: false, reason: 'token has no usable identity (grants.identity: letters, digits, _ . @ + -, at most 121)' };
  const voice = grants['voice'];
  if (!isObject(voice)) return { ok: false, reason: 'token has no voice grant' };
  const exp = payload['exp'];
  if (typeof exp !== 'number' || !Number.isFinite(exp)) return { ok: false, reason: 'token has no expiry (exp)' };
  const sub = payload['sub'];
  const iss = payload['iss'];
  if (typeof sub !== 'string' || typeof iss !== 'string') return { ok: false, reason: 'token names no account (sub) or key (iss)' };
  const outgoing = isObject(voice['outgoing']) ? voice['outgoing']['application_sid'] : undefined;
  const incoming = isObject(voice['incoming']) ? voice['incoming']['allow'] : undefined;
  const nbf = payload['nbf'];
  return {
    ok: true,
    token,
    summary: {
      identity,
      accountSid: sub,
      keySid: iss,
      expiresAtMs: exp * 1000,
      ...(typeof nbf === 'number' && Number.isFinite(nbf) ? { notBeforeMs: nbf * 1000 } : {}),
      ...(typeof outgoing === 'string' ? { outgoingApplicationSid: outgoing } : {}),
      incomingAllow: incoming === true,
    },
  };
}

function span(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.round(s / 60);
  if (m < 120) return `${m} min`;
  return `${Math.round(m / 60)} h`;
}

/** "expires in 59 min", "expired 3 min ago", "valid in 10 s" (not yet valid). */
export function describeValidity(summary: Pick<TokenSummary, 'expiresAtMs' | 'notBeforeMs'>, nowMs: number): { text: string; usable: boolean } {
  if (summary.notBeforeMs !== undefined && summary.notBeforeMs > nowMs) return { text: `not valid yet: valid in ${span(summary.notBeforeMs - nowMs)}`, usable: false };
  if (summary.expiresAtMs <= nowMs) return { text: `expired ${span(nowMs - summary.expiresAtMs)} ago`, usable: false };
  return { text: `expires in ${span(summary.expiresAtMs - nowMs)}`, usable: true };
}

/** One line about the token for the page. */
export function describeToken(summary: TokenSummary, nowMs: number): string {
  const calls = [summary.outgoingApplicationSid !== undefined ? 'may call out' : 'may not call out', summary.incomingAllow ? 'takes incoming calls' : 'takes no incoming calls'];
  return `client:${summary.identity} of ${summary.accountSid}, ${describeValidity(summary, nowMs).text}; ${calls.join(', ')}`;
}

/** Largest token URL answer read. */
export const MAX_TOKEN_RESPONSE_CHARS = 65536;

/**
 * The token in a token URL's answer: JSON `{"token": "…"}` (what the Twilio
 * quick starts serve) or the token alone as text.
 */
export function tokenFromResponse(contentType: string | null, body: string): TokenReading {
  if (body.length > MAX_TOKEN_RESPONSE_CHARS) return { ok: false, reason: `token URL answered ${body.length} characters, more than ${MAX_TOKEN_RESPONSE_CHARS}` };
  const text = body.trim();
  if ((contentType ?? '').toLowerCase().includes('json') || text.startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return { ok: false, reason: 'token URL answered JSON that does not parse' };
    }
    if (!isObject(parsed) || typeof parsed['token'] !== 'string') return { ok: false, reason: 'token URL answered JSON without a "token" string' };
    return readAccessToken(parsed['token']);
  }
  return readAccessToken(text);
}

/** Shortest wait before a refresh, so a token about to expire is not fetched in a loop. */
export const MIN_REFRESH_DELAY_MS = 5000;

/**
 * When to fetch a new token from the token URL: a minute before this one
 * expires, or halfway through its remaining life when that is less than two
 * minutes; never sooner than MIN_REFRESH_DELAY_MS.
 */
export function refreshDelayMs(expiresAtMs: number, nowMs: number): number {
  const left = expiresAtMs - nowMs;
  return Math.max(MIN_REFRESH_DELAY_MS, left - Math.min(60_000, left / 2));
}
