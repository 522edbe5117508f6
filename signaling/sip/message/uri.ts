import {
  HEADER_CHARS,
  HOST_CHARS,
  PARAM_CHARS,
  PASSWORD_CHARS,
  SCHEME_CHARS,
  USER_CHARS,
  escapePercent,
  isInTable,
  parseBoundedInt,
  unescapePercent,
} from './chars.js';
import { SipParseError } from './parse-error.js';
import type { SipUri } from './types.js';

/**
 * SIP, SIPS and TEL URIs (RFC 3261 §19.1, RFC 3966).
 *
 * `sip:user:password@host:port;uri-parameters?headers`. User, password,
 * parameters and headers are %-unescaped on parse (§19.1.4 compares them
 * unescaped) and escaped again by `formatUri`. An IPv6 reference keeps its
 * brackets in `host` (`[2001:db8::1]`). A `tel:` URI puts the number in
 * `user` and leaves `host` empty.
 */
export function parseUri(s: string): SipUri {
  const colon = s.indexOf(':');
  if (colon <= 0 || !isScheme(s, colon)) throw new SipParseError('Malformed URI');
  const scheme = s.slice(0, colon).toLowerCase();
  for (let i = colon + 1; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // No whitespace, controls or delimiters of the surrounding grammar inside a URI (§19.1.1).
    if (c <= 0x20 || c === 0x7f || c === 0x3c || c === 0x3e || c === 0x22) throw new SipParseError('Malformed URI');
  }
  if (scheme === 'sip' || scheme === 'sips') return parseSipUri(scheme, s, colon + 1);
  if (scheme === 'tel') return parseTelUri(s, colon + 1);
  throw new SipParseError('Unsupported URI Scheme', { status: 416 });
}

/** True when `s[0..end)` is a URI scheme: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ). */
export function isScheme(s: string, end: number): boolean {
  const c = s.charCodeAt(0) | 0x20;
  return end > 0 && c >= 0x61 && c <= 0x7a && isInTable(SCHEME_CHARS, s, 0, end);
}

function parseSipUri(scheme: string, s: string, start: number): SipUri {
  let user: string | undefined;
  let password: string | undefined;
  // '@' cannot appear unescaped in host, parameters or headers, so the first
  // one ends the userinfo even when the user part holds ';' or '?' (§19.1.1,
  // RFC 4475 §3.1.1.2 and §3.1.1.9).
  const at = s.indexOf('@', start);
  let i = start;
  if (at >= 0) {
    const pw = s.indexOf(':', start);
    const userEnd = pw >= 0 && pw < at ? pw : at;
    if (userEnd === start || !isInTable(USER_CHARS_ESC, s, start, userEnd)) throw new SipParseError('Malformed URI user');
    user = unescapePercent(s.slice(start, userEnd));
    if (userEnd < at) {
      if (at > userEnd + 1 && !isInTable(PASSWORD_CHARS_ESC, s, userEnd + 1, at)) {
        throw new SipParseError('Malformed URI password');
      }
      password = unescapePercent(s.slice(userEnd + 1, at));
    }
    i = at + 1;
  }

  const hostStart = i;
  if (s.charCodeAt(i) === 0x5b /* [ */) {
    const close = s.indexOf(']', i);
    if (close < 0) throw new SipParseError('Malformed URI host');
    i = close + 1;
  } else {
    while (i < s.length) {
      const c = s.charCodeAt(i);
      if (c >= 128 || HOST_CHARS[c] !== 1) break;
      i++;
    }
  }
  if (i === hostStart) throw new SipParseError('Malformed URI host');
  const host = s.slice(hostStart, i);

  let port: number | undefined;
  if (s.charCodeAt(i) === 0x3a /* : */) {
    const portStart = ++i;
    while (i < s.length && s.charCodeAt(i) >= 0x30 && s.charCodeAt(i) <= 0x39) i++;
    port = parseBoundedInt(s.slice(portStart, i), 65535);
    if (port === undefined) throw new SipParseError('Malformed URI port');
  }

  const params = new Map<string, string | null>();
  i = readUriParams(s, i, params);
  const headers = new Map<string, string>();
  if (s.charCodeAt(i) === 0x3f /* ? */) {
    i++;
    while (i <= s.length) {
      let end = s.indexOf('&', i);
      if (end < 0) end = s.length;
      if (end > i) {
        const eq = s.indexOf('=', i);
        const hasValue = eq >= 0 && eq < end;
        const name = unescapePercent(s.slice(i, hasValue ? eq : end)).toLowerCase();
        headers.set(name, hasValue ? unescapePercent(s.slice(eq + 1, end)) : '');
      }
      i = end + 1;
    }
    i = s.length;
  }
  if (i !== s.length) throw new SipParseError('Malformed URI');
  return { scheme, user, password, host, port, params, headers };
}

/** `;name[=value]` until `?` or the end; empty parameters (`;;`) are skipped. */
function readUriParams(s: string, i: number, params: Map<string, string | null>): number {
  while (s.charCodeAt(i) === 0x3b /* ; */) {
    i++;
    let end = i;
    while (end < s.length && s.charCodeAt(end) !== 0x3b && s.charCodeAt(end) !== 0x3f) end++;
    if (end > i) {
      const eq = s.indexOf('=', i);
      const hasValue = eq >= 0 && eq < end;
      const name = unescapePercent(s.slice(i, hasValue ? eq : end)).toLowerCase();
      params.set(name, hasValue ? unescapePercent(s.slice(eq + 1, end)) : null);
    }
    i = end;
  }
  return i;
}

/** `tel:number;params` (RFC 3966 §3); the number goes to `user`. */
function parseTelUri(s: string, start: number): SipUri {
  let end = s.indexOf(';', start);
  if (end < 0) end = s.length;
  if (end === start) throw new SipParseError('Malformed tel URI');
  const params = new Map<string, string | null>();
  const i = readUriParams(s, end, params);
  if (i !== s.length) throw new SipParseError('Malformed tel URI');
  return {
    scheme: 'tel',
    user: unescapePercent(s.slice(start, end)),
    password: undefined,
    host: '',
    port: undefined,
    params,
    headers: new Map(),
  };
}

function withPercent(t: Uint8Array): Uint8Array {
  const c = new Uint8Array(t);
  c[0x25] = 1;
  return c;
}
const USER_CHARS_ESC = withPercent(USER_CHARS);
const PASSWORD_CHARS_ESC = withPercent(PASSWORD_CHARS);

/** Write a URI back, %-escaping what each component does not allow (§19.1.2). */
export function formatUri(u: SipUri): string {
  let out = u.scheme + ':';
  if (u.scheme === 'tel') {
    out += escapePercent(u.user ?? '', TEL_CHARS);
  } else {
    if (u.user !== undefined) {
      out += escapePercent(u.user, USER_CHARS);
      if (u.password !== undefined) out += ':' + escapePercent(u.password, PASSWORD_CHARS);
      out += '@';
    }
    out += u.host;
    if (u.port !== undefined) out += ':' + String(u.port);
  }
  for (const [k, v] of u.params) {
    out += ';' + escapePercent(k, PARAM_CHARS);
    if (v !== null) out += '=' + escapePercent(v, PARAM_CHARS);
  }
  let sep = '?';
  for (const [k, v] of u.headers) {
    out += sep + escapePercent(k, HEADER_CHARS) + '=' + escapePercent(v, HEADER_CHARS);
    sep = '&';
  }
  return out;
}

/** Characters of a tel number: digits, visual separators, `+`, `*`, `#` and letters (RFC 3966 §3). */
const TEL_CHARS = (() => {
  const t = new Uint8Array(PARAM_CHARS);
  t[0x23] = 1; // '#'
  return t;
})();
