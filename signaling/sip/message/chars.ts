/**
 * Character classes of the SIP grammar (RFC 3261 §25.1) as lookup tables,
 * so every scanner in this folder tests one byte with one array read and no
 * regular expression can backtrack.
 */

function table(chars: string, alnum: boolean): Uint8Array {
  const t = new Uint8Array(128);
  if (alnum) {
    for (let c = 0x30; c <= 0x39; c++) t[c] = 1;
    for (let c = 0x41; c <= 0x5a; c++) t[c] = 1;
    for (let c = 0x61; c <= 0x7a; c++) t[c] = 1;
  }
  for (let i = 0; i < chars.length; i++) t[chars.charCodeAt(i)] = 1;
  return t;
}

/** token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~") (§25.1). */
export const TOKEN = table("-.!%*_+`'~", true);
/** unreserved = alphanum / mark (§25.1). */
const MARK = "-_.!~*'()";
/** user = 1*( unreserved / escaped / user-unreserved ) (§25.1). */
export const USER_CHARS = table(MARK + '&=+$,;?/', true);
/** password = *( unreserved / escaped / "&" / "=" / "+" / "$" / "," ) (§25.1). */
export const PASSWORD_CHARS = table(MARK + '&=+$,', true);
/** paramchar = param-unreserved / unreserved / escaped (§25.1). */
export const PARAM_CHARS = table(MARK + '[]/:&+$', true);
/** hname / hvalue characters (§25.1). */
export const HEADER_CHARS = table(MARK + '[]/?:+$', true);
/** Characters of a hostname or IPv4 address; `_` tolerated (seen in the wild). */
export const HOST_CHARS = table('-._', true);
/** URI scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) (§25.1, RFC 3986 §3.1). */
export const SCHEME_CHARS = table('+-.', true);

export function isInTable(t: Uint8Array, s: string, from = 0, to = s.length): boolean {
  if (to <= from) return false;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || t[c] !== 1) return false;
  }
  return true;
}

export function isToken(s: string): boolean {
  return isInTable(TOKEN, s);
}

export function isWs(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

export function isDigits(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

/**
 * Value of a decimal string, or undefined when it is not digits or exceeds
 * `max`. Leading zeros are allowed (RFC 4475 §3.1.1.1: "0068").
 */
export function parseBoundedInt(s: string, max: number): number | undefined {
  if (!isDigits(s)) return undefined;
  let i = 0;
  while (i < s.length - 1 && s.charCodeAt(i) === 0x30) i++;
  // More than 15 significant digits cannot be exact in a double; every SIP
  // scalar is far smaller, so such a value is simply too large (RFC 4475 §3.1.2.4).
  if (s.length - i > 15) return undefined;
  const n = Number(s.slice(i));
  return n <= max ? n : undefined;
}

/** Skip SP / HT from `i`; returns the first other index. */
export function skipWs(s: string, i: number): number {
  while (i < s.length && isWs(s.charCodeAt(i))) i++;
  return i;
}

/**
 * Read a quoted-string starting at `s[i] === '"'` (§25.1). Returns the
 * unescaped content and the index after the closing quote, or undefined when
 * the quote is not terminated (RFC 4475 §3.1.2.6).
 */
export function readQuoted(s: string, i: number): { value: string; end: number } | undefined {
  let out = '';
  let start = i + 1;
  for (let j = i + 1; j < s.length; j++) {
    const c = s.charCodeAt(j);
    if (c === 0x5c /* \ */) {
      if (j + 1 >= s.length) return undefined;
      out += s.slice(start, j);
      start = j + 1; // keep the escaped char itself
      j++;
    } else if (c === 0x22 /* " */) {
      out += s.slice(start, j);
      return { value: out, end: j + 1 };
    }
  }
  return undefined;
}

/** Quote a string for use as a quoted-string (§25.1): escape `\` and `"`. */
export function quote(s: string): string {
  let needs = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22 || c === 0x5c) {
      needs = true;
      break;
    }
  }
  return needs ? `"${s.replace(/[\\"]/g, '\\$&')}"` : `"${s}"`;
}

/** Decode %HH escapes (§19.1.2); a `%` not followed by two hex digits is kept literally (lenient). */
export function unescapePercent(s: string): string {
  if (s.indexOf('%') < 0) return s;
  let out = '';
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) !== 0x25) continue;
    const h = hexVal(s.charCodeAt(i + 1));
    const l = hexVal(s.charCodeAt(i + 2));
    if (h < 0 || l < 0) continue;
    out += s.slice(start, i) + String.fromCharCode(h * 16 + l);
    start = i + 3;
    i += 2;
  }
  return out + s.slice(start);
}

function hexVal(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

const HEX = '0123456789ABCDEF';

/** %-escape every character not in `allowed` (§19.1.2). Characters above 0xFF are written as UTF-8 octets. */
export function escapePercent(s: string, allowed: Uint8Array): string {
  let i = 0;
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (c >= 128 || allowed[c] !== 1) break;
    i++;
  }
  if (i === s.length) return s;
  let out = s.slice(0, i);
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 128 && allowed[c] === 1) {
      out += s[i];
    } else if (c < 256) {
      out += '%' + HEX[c >> 4] + HEX[c & 15];
    } else {
      const cp = s.codePointAt(i) ?? c;
      if (cp > 0xffff) i++;
      for (const b of Buffer.from(String.fromCodePoint(cp), 'utf8')) out += '%' + HEX[b >> 4] + HEX[b & 15];
    }
  }
  return out;
}
