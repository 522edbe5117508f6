/**
 * The UAS checks of RFC 3261 §8.2.2 that do not depend on what the
 * transaction user does with a request: the Request-URI scheme (§8.2.2.1,
 * 416) and the extensions a request requires (§8.2.2.3, 420). The stack
 * runs them on every new request before the TU sees it, so no TU can forget
 * them (RFC 4475 §3.3.2, §3.3.3, §3.3.5).
 *
 * The method check (§8.2.1, 405/501) stays with the TU, which alone knows
 * what it allows; a request the TU would refuse for its method may therefore
 * get 416 or 420 first, which §8.2.1 orders the other way round. Either
 * answer is a refusal the sender can act on.
 */
import { isToken } from './message/chars.js';
import { createResponse, generateTag, getTag } from './message/index.js';
import type { SipRequest, SipResponse } from './message/types.js';

/**
 * Request-URI schemes this stack serves (§8.2.2.1): SIP and SIPS URIs
 * (§19.1) and telephone numbers (RFC 3966), which the B2BUA routes by number.
 */
export const SUPPORTED_URI_SCHEMES: ReadonlySet<string> = new Set(['sip', 'sips', 'tel']);

/**
 * Option tags (§19.2) the stack implements, i.e. what a `Require` may name
 * without a 420. None: there is no reliable provisional (100rel, RFC 3262),
 * session timer (`timer`, RFC 4028), `replaces` (RFC 3891), `path`
 * (RFC 3327) or `outbound` (RFC 5626) here. Add a tag only with its
 * implementation; this is the one list the 420 and any `Supported` use.
 */
export const SUPPORTED_OPTION_TAGS: readonly string[] = [];

/** Most option tags listed in one Unsupported header; the rest are summarised away (bound every input). */
export const MAX_UNSUPPORTED_TAGS = 32;

export interface UasRejection {
  status: 400 | 416 | 420;
  reason: string;
  headers: [string, string][];
}

/**
 * The §8.2.2 refusal `req` deserves, or undefined when it may go to the TU.
 * ACK is never answered (§17.2.3) and CANCEL is exempt from `Require`
 * (§8.2.2.3); neither is checked.
 */
export function checkUasRequest(req: SipRequest, supported: readonly string[] = SUPPORTED_OPTION_TAGS): UasRejection | undefined {
  if (req.method === 'ACK' || req.method === 'CANCEL') return undefined;
  const colon = req.uri.indexOf(':');
  const scheme = colon > 0 ? req.uri.slice(0, colon).toLowerCase() : '';
  if (!SUPPORTED_URI_SCHEMES.has(scheme)) {
    return { status: 416, reason: 'Unsupported URI Scheme', headers: [] };
  }
  const required = req.headers.getList('Require').map((t) => t.trim());
  if (required.length === 0) return undefined;
  // option-tag = token (§25.1): anything else is a malformed header, not an unknown extension.
  if (required.some((t) => !isToken(t))) return { status: 400, reason: 'Bad Require header', headers: [] };
  const known = new Set(supported.map((t) => t.toLowerCase()));
  const unsupported = [...new Set(required.filter((t) => !known.has(t.toLowerCase())))];
  if (unsupported.length === 0) return undefined;
  // §8.2.2.3: list the options not understood among those in Require (never Proxy-Require, a proxy's business).
  return { status: 420, reason: 'Bad Extension', headers: [['Unsupported', unsupported.slice(0, MAX_UNSUPPORTED_TAGS).join(', ')]] };
}

/** The response for a rejection; a final response needs a To tag when the request had none (§8.2.6.2). */
export function uasRejectionResponse(req: SipRequest, r: UasRejection): SipResponse {
  const hasTag = getTag(req.headers.get('To') ?? '') !== undefined;
  return createResponse(req, r.status, r.reason, hasTag ? { headers: r.headers } : { toTag: generateTag(), headers: r.headers });
}
