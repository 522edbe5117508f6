/**
 * The seam where client credentials are checked (issue 13): the registrar
 * and client INVITEs (client-calls.ts) ask a `ClientAuthenticator` who a
 * request is from. The node's is the access-token verifier
 * (token-authenticator.ts); tests may plug in a table.
 */
import type { Endpoint, SipRequest } from '../sip/message/types.js';

/** What the transport knows about the connection a request came on. */
export interface ClientConnection {
  /** `access_token` from the WebSocket URL's query, if the client put one there. */
  token?: string | undefined;
  /** Remote end of the connection. */
  remote: Endpoint;
}

export type ClientAuthResult =
  | {
      ok: true;
      accountSid: string;
      identity: string;
      /** The token's outgoing grant (`grants.voice.outgoing`): the application the client's calls run, with the grant's parameters. */
      outgoing?: { applicationSid: string; params: Record<string, string> };
    }
  /**
   * 401: no credential or one that may work when fixed (expired); 403: refused for good;
   * 503: the node cannot check credentials now (no secrets key). `reason` goes out as the SIP
   * reason phrase, `detail` (what exactly is wrong, never a secret) in a Warning header.
   */
  | { ok: false; status: 401 | 403 | 503; reason: string; detail?: string };

export interface ClientAuthenticator {
  authenticate(req: SipRequest, connection: ClientConnection): Promise<ClientAuthResult>;
}

/** Longest token read from a header. */
const MAX_TOKEN_CHARS = 8192;

/**
 * The token a request presents: `Authorization: Bearer <token>` (RFC 8898
 * §2.3, RFC 6750 §2.1) wins over the connection's `access_token` query value.
 * Undefined when neither is there (or the header is another scheme).
 */
export function presentedToken(req: SipRequest, connection: ClientConnection): string | undefined {
  const auth = req.headers.get('Authorization');
  if (auth !== undefined) {
    const m = /^Bearer\s+([A-Za-z0-9\-._~+/]+=*)\s*$/i.exec(auth);
    if (m !== null && m[1]!.length <= MAX_TOKEN_CHARS) return m[1];
  }
  return connection.token;
}

/** Refuses everyone (a node configured without client access); the node default is the access-token authenticator (token-authenticator.ts). */
export const refuseAllClients: ClientAuthenticator = {
  authenticate: () => Promise.resolve({ ok: false, status: 403, reason: 'Client Access Not Enabled On This Node' }),
};
