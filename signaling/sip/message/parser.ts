import { isUtf8 } from 'node:buffer';
import { TOKEN, isWs } from './chars.js';
import { SipHeaders } from './headers.js';
import { SipParseError } from './parse-error.js';
import { findHeaderEnd, skipLeadingCrlf } from './section.js';
import { DEFAULT_SIP_LIMITS } from './types.js';
import { isAnswerable, validateMessage, validateRequestLine } from './validate.js';
import type { SipLimits, SipMessage, SipRequest, SipResponse } from './types.js';

/**
 * Parse one whole SIP message: a UDP datagram, or one message cut out of a
 * stream by `SipStreamFramer` (RFC 3261 §7, §18.3).
 *
 * The header section is decoded once as latin1 (one byte = one char, so
 * indexes are byte offsets) and scanned without regular expressions; header
 * values holding non-ASCII bytes are re-decoded as UTF-8 when valid (§7.3.1
 * allows UTF-8 in values). Body framing follows §18.3: exactly
 * Content-Length bytes; without Content-Length the rest of the datagram;
 * bytes after the body are discarded (RFC 4475 §3.1.1.8).
 *
 * Throws `SipParseError`; when the input is a request with a method and at
 * least one Via, the error carries `partial` so the caller can still answer
 * 400 (or 505 / 513 per `status`), also when the Request-Line itself is
 * malformed (RFC 4475 §3.1.2.8 – §3.1.2.10) or From / To / Call-ID are
 * missing (§3.3.1).
 */
export function parseSipMessage(buf: Buffer, limits: SipLimits = DEFAULT_SIP_LIMITS): SipMessage {
  if (buf.length > limits.maxMessageBytes) {
    throw new SipParseError('Message Too Large', { status: 513, detail: { bytes: buf.length } });
  }
  const start = skipLeadingCrlf(buf, 0, buf.length);
  if (start === buf.length) throw new SipParseError('Empty message');
  const section = findHeaderEnd(buf, start, buf.length);
  let headEnd: number;
  let bodyStart: number;
  if (section !== undefined) {
    headEnd = section.headEnd;
    bodyStart = section.bodyStart;
  } else if (buf[buf.length - 1] === 0x0a) {
    // Complete header lines but no empty line: accept as a body-less message (lenient).
    headEnd = buf.length;
    bodyStart = buf.length;
  } else {
    throw new SipParseError('Incomplete header section');
  }

  const head = buf.toString('latin1', start, headEnd);
  const firstLf = head.indexOf('\n');
  const startLine = stripCr(head, 0, firstLf < 0 ? head.length : firstLf);
  if (startLine.length > limits.maxLineBytes) throw new SipParseError('Start line too long');

  const headers = new SipHeaders();
  // A malformed header line is remembered, not thrown at once, so that the
  // other headers can still be read for a 400 answer.
  let deferred = readHeaderLines(head, firstLf < 0 ? head.length : firstLf + 1, headers, limits);

  let msg: SipRequest | SipResponse;
  try {
    msg = parseStartLine(startLine, headers);
  } catch (e) {
    // The header section was read already: a request whose Request-Line is
    // malformed can still be answered 400 when its method and Via are readable.
    const loose = e instanceof SipParseError ? looseRequest(startLine, headers) : undefined;
    if (loose !== undefined && isAnswerable(loose)) throw (e as SipParseError).withPartial(loose);
    throw e;
  }
  if (msg.type === 'request' && deferred === undefined) deferred = validateRequestLine(msg);

  try {
    if (deferred !== undefined) throw deferred;
    validateMessage(msg);
    msg.body = readBody(buf, bodyStart, headers.get('Content-Length'));
  } catch (e) {
    if (e instanceof SipParseError && msg.type === 'request' && e.partial === undefined && isAnswerable(msg)) {
      throw e.withPartial(msg);
    }
    throw e;
  }
  return msg;
}

/**
 * What can be read of a malformed Request-Line: the method (the token before
 * the first SP, needed to keep ACK unanswered and to build the response) and
 * the rest as the URI. Undefined for a Status-Line or an unreadable method.
 */
function looseRequest(line: string, headers: SipHeaders): SipRequest | undefined {
  if (line.startsWith('SIP/') || line.startsWith('sip/')) return undefined;
  let sp = 0;
  while (sp < line.length && !isWs(line.charCodeAt(sp))) sp++;
  if (!isTokenRange(line, 0, sp)) return undefined;
  return { type: 'request', method: line.slice(0, sp), uri: line.slice(sp).trim(), version: 'SIP/2.0', headers, body: Buffer.alloc(0) };
}

function stripCr(s: string, from: number, to: number): string {
  return to > from && s.charCodeAt(to - 1) === 0x0d ? s.slice(from, to - 1) : s.slice(from, to);
}

/**
 * Read `name: value` lines from `head[i..]` into `headers`, unfolding
 * continuation lines (a line starting with SP / HT continues the previous
 * value, §7.3.1). Whitespace between name and colon is allowed (§7.3.1,
 * RFC 4475 §3.1.1.1). Limits throw at once; a malformed line is returned.
 */
function readHeaderLines(
  head: string,
  i: number,
  headers: SipHeaders,
  limits: SipLimits,
): SipParseError | undefined {
  let deferred: SipParseError | undefined;
  let name: string | undefined;
  let value = '';
  let count = 0;
  const flush = (): void => {
    if (name === undefined) return;
    if (++count > limits.maxHeaders) throw new SipParseError('Too many headers', { detail: { max: limits.maxHeaders } });
    headers.append(name, decodeValue(value));
    name = undefined;
  };
  while (i < head.length) {
    let lf = head.indexOf('\n', i);
    if (lf < 0) lf = head.length;
    const line = stripCr(head, i, lf);
    i = lf + 1;
    if (line.length === 0) continue;
    if (isWs(line.charCodeAt(0))) {
      if (name === undefined) {
        deferred ??= new SipParseError('Malformed header line');
        continue;
      }
      const cont = line.trim();
      if (cont.length > 0) value = value.length > 0 ? `${value} ${cont}` : cont;
    } else {
      flush();
      const colon = line.indexOf(':');
      let nameEnd = colon;
      while (nameEnd > 0 && isWs(line.charCodeAt(nameEnd - 1))) nameEnd--;
      if (colon < 0 || !isTokenRange(line, 0, nameEnd)) {
        deferred ??= new SipParseError('Malformed header line');
        continue;
      }
      name = line.slice(0, nameEnd);
      value = line.slice(colon + 1).trim();
    }
    if (value.length + (name?.length ?? 0) > limits.maxLineBytes) {
      throw new SipParseError('Header line too long', { detail: { max: limits.maxLineBytes } });
    }
  }
  flush();
  return deferred;
}

function isTokenRange(s: string, from: number, to: number): boolean {
  if (to <= from) return false;
  for (let k = from; k < to; k++) {
    const c = s.charCodeAt(k);
    if (c >= 128 || TOKEN[c] !== 1) return false;
  }
  return true;
}

/** latin1 → UTF-8 when the value holds non-ASCII bytes that form valid UTF-8. */
function decodeValue(v: string): string {
  for (let k = 0; k < v.length; k++) {
    if (v.charCodeAt(k) >= 0x80) {
      const bytes = Buffer.from(v, 'latin1');
      return isUtf8(bytes) ? bytes.toString('utf8') : v;
    }
  }
  return v;
}

/** Request-Line or Status-Line (§7.1, §7.2). Structure errors throw; semantic checks come later. */
function parseStartLine(line: string, headers: SipHeaders): SipRequest | SipResponse {
  const empty = Buffer.alloc(0);
  if (line.startsWith('SIP/') || line.startsWith('sip/')) {
    // Status-Line = SIP-Version SP Status-Code SP Reason-Phrase
    const sp = line.indexOf(' ');
    const version = sp < 0 ? line : line.slice(0, sp);
    if (version.toUpperCase() !== 'SIP/2.0') throw new SipParseError('Version Not Supported', { status: 505 });
    const code = line.slice(sp + 1, sp + 4);
    const after = line.charCodeAt(sp + 4);
    if (sp < 0 || code.length !== 3 || !(Number.isNaN(after) || after === 0x20)) {
      throw new SipParseError('Malformed Status-Line'); // RFC 4475 §3.1.2.19
    }
    const status = Number(code);
    if (!/^[1-6]\d\d$/.test(code)) throw new SipParseError('Malformed Status-Line');
    const reason = decodeValue(line.slice(sp + 5));
    return { type: 'response', version: 'SIP/2.0', status, reason, headers, body: empty };
  }
  // Request-Line = Method SP Request-URI SP SIP-Version — exactly one SP
  // between elements, none after (RFC 4475 §3.1.2.8 – §3.1.2.10).
  const sp1 = line.indexOf(' ');
  const sp2 = sp1 < 0 ? -1 : line.indexOf(' ', sp1 + 1);
  if (sp1 <= 0 || sp2 <= sp1 + 1 || sp2 === line.length - 1 || line.indexOf(' ', sp2 + 1) >= 0) {
    throw new SipParseError('Malformed Request-Line');
  }
  const method = line.slice(0, sp1);
  if (!isTokenRange(method, 0, method.length)) throw new SipParseError('Malformed Request-Line');
  const uri = line.slice(sp1 + 1, sp2);
  const version = line.slice(sp2 + 1);
  return { type: 'request', method, uri, version, headers, body: empty };
}

/** Body per §18.3 / §20.14. */
function readBody(buf: Buffer, bodyStart: number, contentLength: string | undefined): Buffer {
  if (contentLength === undefined) return Buffer.from(buf.subarray(bodyStart));
  // validateMessage already checked the syntax (RFC 4475 §3.1.2.3).
  const n = Number(contentLength.trim());
  if (bodyStart + n > buf.length) {
    throw new SipParseError('Bad Content-Length', { detail: { contentLength: n, available: buf.length - bodyStart } });
  }
  return Buffer.from(buf.subarray(bodyStart, bodyStart + n));
}
