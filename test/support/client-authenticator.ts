/**
 * A ClientAuthenticator for tests, standing in for the access-token
 * verifier: a fixed table token → (account, identity). No token → 401, an
 * unknown one → 403, each with a reason, as the real verifier answers. An
 * entry's `outgoing` stands for the token's outgoing grant.
 */
import { presentedToken, type ClientAuthenticator } from '../../signaling/clients/authenticator.js';

export function tableAuthenticator(tokens: Record<string, { accountSid: string; identity: string; outgoing?: { applicationSid: string; params: Record<string, string> } }>): ClientAuthenticator & { calls: number } {
  const a = {
    calls: 0,
    authenticate: (req: Parameters<ClientAuthenticator['authenticate']>[0], conn: Parameters<ClientAuthenticator['authenticate']>[1]) => {
      a.calls++;
      const token = presentedToken(req, conn);
      if (token === undefined) return Promise.resolve({ ok: false as const, status: 401 as const, reason: 'Access Token Required' });
      const who = tokens[token];
      if (who === undefined) return Promise.resolve({ ok: false as const, status: 403 as const, reason: 'Access Token Invalid' });
      return Promise.resolve({ ok: true as const, ...who });
    },
  };
  return a;
}
