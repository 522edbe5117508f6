import { TOKEN, readQuoted, skipWs } from './chars.js';
import { SipParseError } from './parse-error.js';

/**
 * Header parameters: `*( SEMI generic-param )` with
 * `generic-param = token [ EQUAL gen-value ]`, `gen-value = token / host / quoted-string`
 * (RFC 3261 §25.1). SEMI and EQUAL allow whitespace on both sides. Names are
 * lower-cased (§7.3.1: parameter names are case-insensitive); values are kept
 * as written (a quoted value keeps its quotes) so formatting round-trips.
 *
 * Parses from `s[i]` (which must be `;` or the end) to the end of `s`; an
 * empty parameter (`;;`, RFC 4475 §3.1.2.1) or trailing garbage is an error.
 */
export function parseParams(s: string, i: number, what: string): Map<string, string | null> {
  const params = new Map<string, string | null>();
  i = skipWs(s, i);
  while (i < s.length) {
    if (s.charCodeAt(i) !== 0x3b /* ; */) throw new SipParseError(`Malformed ${what}`);
    i = skipWs(s, i + 1);
    const nameStart = i;
    while (i < s.length && isTokenCode(s.charCodeAt(i))) i++;
    if (i === nameStart) throw new SipParseError(`Malformed ${what} parameter`);
    const name = s.slice(nameStart, i).toLowerCase();
    i = skipWs(s, i);
    let value: string | null = null;
    if (i < s.length && s.charCodeAt(i) === 0x3d /* = */) {
      i = skipWs(s, i + 1);
      const c = s.charCodeAt(i);
      const valueStart = i;
      if (c === 0x22 /* " */) {
        const q = readQuoted(s, i);
        if (q === undefined) throw new SipParseError(`Unterminated quoted string in ${what}`);
        i = q.end;
      } else if (c === 0x5b /* [ */) {
        const close = s.indexOf(']', i);
        if (close < 0) throw new SipParseError(`Malformed ${what} parameter`);
        i = close + 1;
      } else {
        // token; ':' tolerated for host values such as received=IPv6 without brackets.
        while (i < s.length && (isTokenCode(s.charCodeAt(i)) || s.charCodeAt(i) === 0x3a)) i++;
      }
      if (i === valueStart) throw new SipParseError(`Malformed ${what} parameter`);
      value = s.slice(valueStart, i);
      i = skipWs(s, i);
    }
    params.set(name, value);
  }
  return params;
}

function isTokenCode(c: number): boolean {
  return c < 128 && TOKEN[c] === 1;
}

/** `;name=value;flag` — values are written as stored (already quoted if they needed it). */
export function formatParams(params: ReadonlyMap<string, string | null>): string {
  let out = '';
  for (const [k, v] of params) out += v === null ? `;${k}` : `;${k}=${v}`;
  return out;
}
