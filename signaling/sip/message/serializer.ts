import type { SipMessage } from './types.js';

/**
 * Write a message to wire bytes (RFC 3261 §7). Header names are written in
 * their canonical long form; Content-Length is always written and always
 * equals the body length (§20.14: MUST be present on stream transports, and
 * a wrong value breaks framing), at the position of an existing
 * Content-Length header or last. Text is encoded as UTF-8 (§7.3.1).
 */
export function serializeSipMessage(msg: SipMessage): Buffer {
  let head =
    msg.type === 'request'
      ? `${msg.method} ${msg.uri} ${msg.version}\r\n`
      : `${msg.version} ${msg.status} ${safeValue(msg.reason)}\r\n`;
  let wroteLength = false;
  for (const f of msg.headers.entries()) {
    if (f.name === 'Content-Length') {
      if (wroteLength) continue;
      wroteLength = true;
      head += `Content-Length: ${msg.body.length}\r\n`;
    } else {
      head += `${f.name}: ${safeValue(f.value)}\r\n`;
    }
  }
  if (!wroteLength) head += `Content-Length: ${msg.body.length}\r\n`;
  head += '\r\n';
  if (msg.body.length === 0) return Buffer.from(head, 'utf8');
  const headLen = Buffer.byteLength(head, 'utf8');
  const out = Buffer.allocUnsafe(headLen + msg.body.length);
  out.write(head, 0, 'utf8');
  msg.body.copy(out, headLen);
  return out;
}

/** A CR or LF inside a value would inject header lines; fold it to a space. */
function safeValue(v: string): string {
  return v.indexOf('\r') < 0 && v.indexOf('\n') < 0 ? v : v.replace(/[\r\n]+/g, ' ');
}
