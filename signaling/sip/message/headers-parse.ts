import { TOKEN, isInTable, isToken, isWs, parseBoundedInt, quote, readQuoted, skipWs } from './chars.js';
import { formatParams, parseParams } from './params.js';
import { SipParseError } from './parse-error.js';
import { isScheme } from './uri.js';
import type { CSeq, NameAddr, Via } from './types.js';

/**
 * Structured parsing of the header fields the stack itself reads. Each
 * function takes ONE element (after `SipHeaders.getList` splitting) and
 * throws `SipParseError` on malformed input.
 */

/**
 * name-addr / addr-spec with header parameters (RFC 3261 §20.10, §25.1):
 * `"Display" <uri>;tag=x`, `Display Name <uri>`, `<uri>`, or a bare
 * `uri;tag=x` whose `;` parameters belong to the header, not the URI.
 */
export function parseNameAddr(s: string): NameAddr {
  let i = skipWs(s, 0);
  let displayName: string | undefined;
  let uri: string;
  if (s.charCodeAt(i) === 0x22 /* " */) {
    const q = readQuoted(s, i);
    if (q === undefined) throw new SipParseError('Unterminated quoted string'); // RFC 4475 §3.1.2.6
    displayName = q.value;
    i = skipWs(s, q.end);
    if (s.charCodeAt(i) !== 0x3c /* < */) throw new SipParseError('Malformed name-addr');
  } else {
    const lt = s.indexOf('<', i);
    if (lt >= 0) {
      // display-name = *(token LWS) — RFC 4475 §3.1.2.15 (`Bell, Alexander`) is rejected here.
      const dn = s.slice(i, lt).trim();
      if (dn.length > 0) {
        if (!isTokenWords(dn)) throw new SipParseError('Malformed display name');
        displayName = dn;
      }
      i = lt;
    }
  }
  if (s.charCodeAt(i) === 0x3c /* < */) {
    const gt = s.indexOf('>', i + 1);
    if (gt < 0) throw new SipParseError('Malformed name-addr');
    uri = s.slice(i + 1, gt);
    // LAQUOT / RAQUOT allow no whitespace inside the brackets (§25.1, RFC 4475 §3.1.2.14).
    if (!isAddrSpec(uri)) throw new SipParseError('Malformed name-addr URI');
    i = gt + 1;
  } else {
    // addr-spec: parameters after it are header parameters; a URI with
    // `?headers`, `,` or `;` parameters MUST be in <> (§20.10, RFC 4475 §3.1.2.13).
    const start = i;
    while (i < s.length) {
      const c = s.charCodeAt(i);
      if (c === 0x3b /* ; */ || isWs(c)) break;
      i++;
    }
    uri = s.slice(start, i);
    if (!isAddrSpec(uri) || uri.indexOf('?') >= 0) throw new SipParseError('Malformed addr-spec');
  }
  const params = parseParams(s, i, 'header parameter');
  return { displayName, uri, params };
}

function isTokenWords(s: string): boolean {
  let i = 0;
  while (i < s.length) {
    const start = i;
    while (i < s.length && !isWs(s.charCodeAt(i))) i++;
    if (!isInTable(TOKEN, s, start, i)) return false;
    i = skipWs(s, i);
  }
  return true;
}

/** scheme ":" then at least one char, with no whitespace or brackets. */
function isAddrSpec(u: string): boolean {
  const colon = u.indexOf(':');
  if (colon <= 0 || colon === u.length - 1 || !isScheme(u, colon)) return false;
  for (let i = colon + 1; i < u.length; i++) {
    const c = u.charCodeAt(i);
    if (c <= 0x20 || c === 0x3c || c === 0x3e || c === 0x22 || c === 0x7f) return false;
  }
  return true;
}

/** Always writes the `<uri>` form, which is valid for every URI (§20.10). */
export function formatNameAddr(n: NameAddr): string {
  const dn = n.displayName === undefined ? '' : quote(n.displayName) + ' ';
  return `${dn}<${n.uri}>${formatParams(n.params)}`;
}

/** The `tag` parameter of a From / To value, or undefined (also when the value is malformed). */
export function getTag(value: string): string | undefined {
  // Fast path: no ';' after the last '>' (or at all) means no header parameters.
  const gt = value.lastIndexOf('>');
  if (value.indexOf(';', gt + 1) < 0) return undefined;
  try {
    const tag = parseNameAddr(value).params.get('tag');
    return tag === null ? undefined : tag;
  } catch {
    return undefined;
  }
}

/**
 * One Via element (§20.42, §25.1):
 * `SIP / 2.0 / UDP host[:port] *( ; via-params )`. LWS is allowed around
 * each `/` (RFC 4475 §3.1.1.1).
 */
export function parseVia(s: string): Via {
  let i = skipWs(s, 0);
  const name = readToken(s, i);
  i = skipWs(s, i + name.length);
  if (s.charCodeAt(i) !== 0x2f /* / */) throw new SipParseError('Malformed Via header');
  i = skipWs(s, i + 1);
  const version = readToken(s, i);
  i = skipWs(s, i + version.length);
  if (s.charCodeAt(i) !== 0x2f) throw new SipParseError('Malformed Via header');
  i = skipWs(s, i + 1);
  const transport = readToken(s, i);
  i += transport.length;
  if (name.length === 0 || version.length === 0 || transport.length === 0) throw new SipParseError('Malformed Via header');
  const afterProto = i;
  i = skipWs(s, i);
  if (i === afterProto) throw new SipParseError('Malformed Via header');

  const hostStart = i;
  if (s.charCodeAt(i) === 0x5b /* [ */) {
    const close = s.indexOf(']', i);
    if (close < 0) throw new SipParseError('Malformed Via host');
    i = close + 1;
  } else {
    while (i < s.length) {
      const c = s.charCodeAt(i);
      if (c === 0x3a || c === 0x3b || isWs(c)) break;
      if (c >= 128 || (TOKEN[c] !== 1 && c !== 0x5f)) throw new SipParseError('Malformed Via host');
      i++;
    }
  }
  if (i === hostStart) throw new SipParseError('Malformed Via host');
  const host = s.slice(hostStart, i);
  i = skipWs(s, i);
  let port: number | undefined;
  if (s.charCodeAt(i) === 0x3a /* : */) {
    i = skipWs(s, i + 1);
    const portStart = i;
    while (i < s.length && s.charCodeAt(i) >= 0x30 && s.charCodeAt(i) <= 0x39) i++;
    port = parseBoundedInt(s.slice(portStart, i), 65535);
    if (port === undefined) throw new SipParseError('Malformed Via port');
  }
  const params = parseParams(s, i, 'Via');
  return { protocol: `${name}/${version}`.toUpperCase(), transport: transport.toUpperCase(), host, port, params };
}

function readToken(s: string, i: number): string {
  const start = i;
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (c >= 128 || TOKEN[c] !== 1) break;
    i++;
  }
  return s.slice(start, i);
}

export function formatVia(v: Via): string {
  const port = v.port === undefined ? '' : `:${v.port}`;
  return `${v.protocol}/${v.transport} ${v.host}${port}${formatParams(v.params)}`;
}

/** CSeq must be below 2**31 (RFC 3261 §8.1.1.5); larger values are rejected (RFC 4475 §3.1.2.4). */
const MAX_CSEQ = 2 ** 31 - 1;

/** `CSeq: 1*DIGIT LWS Method` (§20.16). */
export function parseCSeq(s: string): CSeq {
  const t = s.trim();
  let i = 0;
  while (i < t.length && t.charCodeAt(i) >= 0x30 && t.charCodeAt(i) <= 0x39) i++;
  const seq = parseBoundedInt(t.slice(0, i), MAX_CSEQ);
  if (seq === undefined) throw new SipParseError('Bad CSeq');
  const j = skipWs(t, i);
  if (j === i) throw new SipParseError('Bad CSeq');
  const method = t.slice(j);
  if (!isToken(method)) throw new SipParseError('Bad CSeq');
  return { seq, method };
}

export function formatCSeq(c: CSeq): string {
  return `${c.seq} ${c.method}`;
}

/** Largest Content-Length we represent; real limits come from `SipLimits`. */
const MAX_CONTENT_LENGTH = 2 ** 31 - 1;

/** `Content-Length: 1*DIGIT` (§20.14); negative or non-numeric values are rejected (RFC 4475 §3.1.2.3). */
export function parseContentLength(s: string): number {
  const n = parseBoundedInt(s.trim(), MAX_CONTENT_LENGTH);
  if (n === undefined) throw new SipParseError('Bad Content-Length');
  return n;
}

/** `Max-Forwards: 1*DIGIT`, 0..255 (§20.22, RFC 4475 §3.1.2.4). */
export function parseMaxForwards(s: string): number {
  const n = parseBoundedInt(s.trim(), 255);
  if (n === undefined) throw new SipParseError('Bad Max-Forwards');
  return n;
}
