import { isDigits, isWs, parseBoundedInt } from './chars.js';
import { splitHeaderList } from './headers.js';
import { parseCSeq, parseContentLength, parseMaxForwards, parseNameAddr, parseVia } from './headers-parse.js';
import { SipParseError } from './parse-error.js';
import { isScheme, parseUri } from './uri.js';
import type { SipHeaders } from './headers.js';
import type { SipMessage, SipRequest } from './types.js';

/**
 * Semantic checks every received message passes before the stack sees it
 * (RFC 3261 §8.1.1, §8.2, §20; RFC 4475 §3.1.2 and §3.3). Each failure is a
 * `SipParseError` whose reason names the header.
 */

/** delta-seconds fit in 32 bits (RFC 3261 §20.19, §20.33; RFC 4475 §3.1.2.4). */
const MAX_DELTA_SECONDS = 2 ** 32 - 1;

/** Request-URI and version: semantic errors a server can still answer (400 / 505). */
export function validateRequestLine(req: SipRequest): SipParseError | undefined {
  if (req.version.toUpperCase() !== 'SIP/2.0') {
    return new SipParseError('Version Not Supported', { status: 505 }); // RFC 4475 §3.1.2.16
  }
  req.version = 'SIP/2.0';
  const colon = req.uri.indexOf(':');
  // Request-URI = SIP-URI / SIPS-URI / absoluteURI (§25.1): `<sip:...>` is not (RFC 4475 §3.1.2.7).
  if (colon <= 0 || colon === req.uri.length - 1 || !isScheme(req.uri, colon)) {
    return new SipParseError('Malformed Request-URI');
  }
  const scheme = req.uri.slice(0, colon).toLowerCase();
  // Unknown schemes pass here; the application answers 416 (RFC 4475 §3.3.2).
  if (scheme === 'sip' || scheme === 'sips') {
    try {
      const u = parseUri(req.uri);
      // Headers are not allowed in a Request-URI (§19.1.1 table, RFC 4475 §3.1.2.11).
      if (u.headers.size > 0) return new SipParseError('Malformed Request-URI');
    } catch {
      return new SipParseError('Malformed Request-URI');
    }
  }
  return undefined;
}

/**
 * Can a malformed request still be answered (RFC 3261 §8.2.6)? It needs at
 * least one Via value, which the response copies (§8.2.6.2) and which tells
 * the sender it is the answer; the transport sends it by the top Via, or to
 * the packet's source when that Via cannot be read. From, To, Call-ID and
 * CSeq are copied when present: RFC 4475 §3.3.1 asks for a 400 to a request
 * that lacks them.
 */
export function isAnswerable(msg: SipMessage): boolean {
  return msg.type === 'request' && msg.headers.getAll('Via').some((v) => v.trim().length > 0);
}

export function validateMessage(msg: SipMessage): void {
  const h = msg.headers;
  // §8.1.1: Via, From, To, Call-ID, CSeq are mandatory (Max-Forwards only for requests sent).
  const vias = h.getList('Via');
  if (vias.length === 0) throw new SipParseError('Missing Via header');
  for (const v of vias) parseVia(v);

  // From / To: a top-level comma is already invalid name-addr syntax, so the
  // name-addr parser reports it (RFC 4475 §3.1.2.15) rather than a list split.
  parseNameAddr(single(h, 'From', false));
  parseNameAddr(single(h, 'To', false));
  const callId = single(h, 'Call-ID');
  for (let i = 0; i < callId.length; i++) {
    if (isWs(callId.charCodeAt(i))) throw new SipParseError('Bad Call-ID');
  }
  const cseq = parseCSeq(single(h, 'CSeq'));
  if (msg.type === 'request' && cseq.method !== msg.method) {
    throw new SipParseError('CSeq method does not match'); // §8.2 / RFC 4475 §3.1.2.17, §3.1.2.18
  }

  const mf = optionalSingle(h, 'Max-Forwards');
  if (mf !== undefined) parseMaxForwards(mf);
  // RFC 4475 §3.3.9: two Content-Length values cannot frame a body.
  const cl = optionalSingle(h, 'Content-Length');
  if (cl !== undefined) parseContentLength(cl);

  validateContacts(h);
  const expires = h.get('Expires');
  if (expires !== undefined) checkDelta(expires.trim(), 'Bad Expires');
  if (msg.type === 'response') {
    const ra = h.get('Retry-After');
    if (ra !== undefined) checkDelta(leadingDigits(ra.trim()), 'Bad Retry-After');
  }
  const date = h.get('Date');
  // SIP-date is RFC 1123 with GMT only (§20.17, RFC 4475 §3.1.2.12).
  if (date !== undefined && !date.trimEnd().endsWith('GMT')) throw new SipParseError('Bad Date');
}

/** The one value of a header that must occur exactly once (RFC 4475 §3.3.1, §3.3.8). */
function single(h: SipHeaders, name: string, splitCommas = true): string {
  const v = optionalSingle(h, name, splitCommas);
  if (v === undefined) throw new SipParseError(`Missing ${name} header`);
  return v;
}

function optionalSingle(h: SipHeaders, name: string, splitCommas = true): string | undefined {
  const all = h.getAll(name);
  if (all.length === 0) return undefined;
  const v = all[0]!;
  if (all.length > 1 || (splitCommas && v.indexOf(',') >= 0 && splitHeaderList(v).length > 1)) {
    throw new SipParseError(`Multiple ${name} values`);
  }
  if (v.length === 0) throw new SipParseError(`Bad ${name} header`);
  return v;
}

/** Contact: `*` alone, or name-addrs with a sane `expires` (§20.10, RFC 4475 §3.1.2.1, §3.1.2.13). */
function validateContacts(h: SipHeaders): void {
  const contacts = h.getList('Contact');
  if (contacts.length === 1 && contacts[0] === '*') return;
  for (const c of contacts) {
    const params = parseNameAddr(c).params;
    const exp = params.get('expires');
    if (exp !== undefined && exp !== null) checkDelta(exp, 'Bad Contact expires');
  }
}

/** Only an all-digit value is checked for size; other forms (RFC 2543 dates) are left to users. */
function checkDelta(s: string, reason: string): void {
  if (isDigits(s) && parseBoundedInt(s, MAX_DELTA_SECONDS) === undefined) throw new SipParseError(reason);
}

function leadingDigits(s: string): string {
  let i = 0;
  while (i < s.length && s.charCodeAt(i) >= 0x30 && s.charCodeAt(i) <= 0x39) i++;
  return s.slice(0, i);
}
