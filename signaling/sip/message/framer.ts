import { canonicalHeaderName } from './headers.js';
import { parseContentLength } from './headers-parse.js';
import { SipParseError } from './parse-error.js';
import { findHeaderEnd } from './section.js';
import { DEFAULT_SIP_LIMITS } from './types.js';
import type { SipLimits } from './types.js';

export interface SipStreamFramerOptions {
  /**
   * Called for each RFC 5626 §3.5.1 keep-alive "ping" (CRLF CRLF between
   * messages); the transport should answer with a single CRLF "pong".
   * Default: none.
   */
  onKeepAlive?: () => void;
}

/**
 * Cuts a byte stream (TCP) into whole SIP messages (RFC 3261 §18.3).
 *
 * Each message ends after its header section plus Content-Length body
 * bytes. Content-Length is mandatory on stream transports (§18.3, §20.14);
 * when a sender omits it anyway the body is taken as empty — the only length
 * the receiver can assume without losing framing, and what §20.14 requires a
 * body-less message to carry. If bytes of a body did follow, they are seen
 * as the next message and fail to parse, so the error surfaces.
 *
 * CR / LF bytes between messages are skipped (§7.5, RFC 5626 §3.5.1).
 * Oversize header sections or messages and bad / repeated Content-Length
 * throw `SipParseError`; the framer is then unusable (every later `push`
 * throws the same error) and the caller must close the connection.
 */
export class SipStreamFramer {
  private readonly limits: SipLimits;
  private readonly onKeepAlive: (() => void) | undefined;
  private buf: Buffer = Buffer.alloc(0);
  private start = 0;
  /** Where to resume the search for the end of the header section. */
  private scanFrom = 0;
  /** Total length (from `start`) of the message being waited for, once its header section is known. */
  private pendingLength: number | undefined;
  private crlfRun = 0;
  private failure: SipParseError | undefined;

  constructor(limits: SipLimits = DEFAULT_SIP_LIMITS, opts: SipStreamFramerOptions = {}) {
    this.limits = limits;
    this.onKeepAlive = opts.onKeepAlive;
  }

  /** Bytes held while waiting for the rest of a message. */
  get buffered(): number {
    return this.buf.length - this.start;
  }

  /** Feed bytes; returns every message completed by them, in order. */
  push(chunk: Buffer): Buffer[] {
    if (this.failure !== undefined) throw this.failure;
    if (this.start >= this.buf.length) {
      this.buf = chunk;
      this.scanFrom = 0;
    } else {
      this.buf = Buffer.concat([this.buf.subarray(this.start), chunk]);
      this.scanFrom -= this.start;
    }
    this.start = 0;
    const out: Buffer[] = [];
    try {
      for (;;) {
        const msg = this.next();
        if (msg === undefined) break;
        out.push(msg);
      }
    } catch (e) {
      this.failure = e instanceof SipParseError ? e : new SipParseError('Malformed message', { cause: e });
      throw this.failure;
    }
    return out;
  }

  /** Drop buffered bytes and any failure (for reuse on a fresh connection). */
  reset(): void {
    this.buf = Buffer.alloc(0);
    this.start = 0;
    this.scanFrom = 0;
    this.pendingLength = undefined;
    this.crlfRun = 0;
    this.failure = undefined;
  }

  private next(): Buffer | undefined {
    const { buf } = this;
    if (this.pendingLength === undefined) {
      while (this.start < buf.length && (buf[this.start] === 0x0d || buf[this.start] === 0x0a)) {
        this.start++;
        if (++this.crlfRun === 4) {
          this.crlfRun = 0;
          this.onKeepAlive?.();
        }
      }
      if (this.start >= buf.length) return undefined;
      this.crlfRun = 0;
      if (this.scanFrom < this.start) this.scanFrom = this.start;
      const section = findHeaderEnd(buf, Math.max(this.start, this.scanFrom - 3), buf.length);
      if (section === undefined) {
        this.scanFrom = buf.length;
        if (buf.length - this.start > this.limits.maxMessageBytes) {
          throw new SipParseError('Message Too Large', { status: 513 });
        }
        return undefined;
      }
      const contentLength = readContentLength(buf.toString('latin1', this.start, section.headEnd));
      const total = section.bodyStart - this.start + contentLength;
      if (total > this.limits.maxMessageBytes) throw new SipParseError('Message Too Large', { status: 513 });
      this.pendingLength = total;
    }
    const end = this.start + this.pendingLength;
    if (end > buf.length) return undefined;
    const msg = buf.subarray(this.start, end);
    this.start = end;
    this.scanFrom = end;
    this.pendingLength = undefined;
    return msg;
  }
}

/** Content-Length of a header section (0 when absent, see class comment); unfolds continuation lines. */
function readContentLength(head: string): number {
  let value: string | undefined;
  let inCl = false;
  let seen = 0;
  let i = head.indexOf('\n') + 1; // skip the start line
  if (i === 0) return 0;
  while (i < head.length) {
    let lf = head.indexOf('\n', i);
    if (lf < 0) lf = head.length;
    const c = head.charCodeAt(i);
    if (c === 0x20 || c === 0x09) {
      if (inCl) value += ' ' + head.slice(i, lf);
    } else {
      inCl = false;
      const colon = head.indexOf(':', i);
      if (colon > i && colon < lf && isContentLengthName(head.slice(i, colon).trim())) {
        inCl = true;
        seen++;
        value = head.slice(colon + 1, lf);
      }
    }
    i = lf + 1;
  }
  if (seen > 1) throw new SipParseError('Multiple Content-Length values'); // RFC 4475 §3.3.9
  return value === undefined ? 0 : parseContentLength(value);
}

function isContentLengthName(name: string): boolean {
  return (name.length === 14 || name.length === 1) && canonicalHeaderName(name) === 'Content-Length';
}
