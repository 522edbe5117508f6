/**
 * Why an access token was refused: one closed set of reason codes, each with a
 * message naming what is wrong (never the secret, never the whole token), and
 * the catalogue error it maps to. A credential problem (bad token, unknown key,
 * expired) is UNAUTHORIZED (401: present another token, RFC 6750 §3.1
 * `invalid_token`); a valid token that does not allow what is asked (account
 * not active, grant missing, application not the account's) is FORBIDDEN (403,
 * `insufficient_scope`).
 */
import { MeshError } from '../core/errors.js';

export const TOKEN_REFUSAL_REASONS = {
  // The token itself (pure checks, access-token.ts)
  'too-large': 401,
  malformed: 401,
  'unsupported-algorithm': 401,
  'bad-header': 401,
  'bad-issuer': 401,
  'bad-subject': 401,
  'bad-claims': 401,
  'bad-identity': 401,
  'bad-signature': 401,
  expired: 401,
  'not-yet-valid': 401,
  'lifetime-too-long': 401,
  'missing-grant': 403,
  // What the store says (token-resolver.ts)
  'unknown-key': 401,
  'key-without-token-secret': 401,
  'key-unreadable': 401,
  'key-of-another-account': 401,
  'unknown-account': 401,
  'account-closed': 401,
  'account-not-active': 403,
  'application-not-in-account': 403,
  /** The platform has no secrets key configured: no token can be checked. */
  'tokens-unavailable': 503,
} as const;

export type TokenRefusalReason = keyof typeof TOKEN_REFUSAL_REASONS;

export interface TokenRefusal {
  ok: false;
  reason: TokenRefusalReason;
  /** For the client and the logs: names what is wrong; carries no secret. */
  message: string;
}

export function refuse(reason: TokenRefusalReason, message: string): TokenRefusal {
  return { ok: false, reason, message };
}

/** The catalogue error a refusal answers with (SIP 401/403/503, HTTP the same); `detail.tokenRefusal` is the reason code. */
export function refusalError(r: TokenRefusal): MeshError {
  const status = TOKEN_REFUSAL_REASONS[r.reason];
  const code = status === 403 ? 'FORBIDDEN' : status === 503 ? 'SERVICE_UNAVAILABLE' : 'UNAUTHORIZED';
  return new MeshError(code, `access token refused (${r.reason}): ${r.message}`, { detail: { tokenRefusal: r.reason } });
}
