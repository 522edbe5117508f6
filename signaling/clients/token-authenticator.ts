/**
 * The node's ClientAuthenticator: access tokens in the format the `twilio`
 * library mints (regions/auth), checked against the store by an
 * AccessTokenResolver. The token is the request's `Authorization: Bearer`
 * (RFC 8898) or the WebSocket URL's `access_token` (`presentedToken`).
 *
 * What each request needs of the voice grant: a REGISTER makes the identity
 * reachable, so it needs `incoming.allow`; an INVITE places a call, so it
 * needs `outgoing.application_sid`. Each refusal answers with the status its
 * reason maps to (regions/auth/token-refusal.ts: 401, 403, or 503 when the
 * node has no secrets key), the reason code in the reason phrase and the
 * message in a Warning header.
 */
import { requireVoiceGrant } from '../../regions/auth/access-token.js';
import type { ResolvedAccessToken } from '../../regions/auth/token-resolver.js';
import { TOKEN_REFUSAL_REASONS, type TokenRefusal } from '../../regions/auth/token-refusal.js';
import { presentedToken, type ClientAuthenticator, type ClientAuthResult } from './authenticator.js';

/** What the authenticator needs of the resolver (AccessTokenResolver). */
export interface TokenResolverLike {
  resolve(token: string): Promise<ResolvedAccessToken | TokenRefusal>;
}

export function accessTokenAuthenticator(resolver: TokenResolverLike): ClientAuthenticator {
  return {
    async authenticate(req, connection): Promise<ClientAuthResult> {
      const token = presentedToken(req, connection);
      if (token === undefined) return { ok: false, status: 401, reason: 'Access Token Required', detail: 'present an access token: Authorization: Bearer <token>, or access_token in the WebSocket URL' };
      const r = await resolver.resolve(token);
      if (!r.ok) return refused(r);
      const missing = requireVoiceGrant(r.claims, req.method === 'REGISTER' ? 'incoming' : 'outgoing');
      if (missing !== undefined) return refused(missing);
      const out = r.claims.voice.outgoing;
      return { ok: true, accountSid: r.account.sid, identity: r.claims.identity, ...(out !== undefined ? { outgoing: { applicationSid: out.applicationSid, params: { ...out.params } } } : {}) };
    },
  };
}

/** A refusal as the SIP side answers it: `Access Token Refused (expired)` + the message. */
export function refused(r: TokenRefusal): ClientAuthResult & { ok: false } {
  return { ok: false, status: TOKEN_REFUSAL_REASONS[r.reason], reason: `Access Token Refused (${r.reason})`, detail: r.message };
}
