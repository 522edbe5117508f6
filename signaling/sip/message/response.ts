import { SipHeaders } from './headers.js';
import { getTag } from './headers-parse.js';
import type { SipRequest, SipResponse } from './types.js';

/** Reason phrases of RFC 3261 §21 and common extensions, used when none is given. */
export const DEFAULT_REASONS: Readonly<Record<number, string>> = {
  100: 'Trying', 180: 'Ringing', 181: 'Call Is Being Forwarded', 182: 'Queued', 183: 'Session Progress',
  199: 'Early Dialog Terminated',
  200: 'OK', 202: 'Accepted', 204: 'No Notification',
  300: 'Multiple Choices', 301: 'Moved Permanently', 302: 'Moved Temporarily', 305: 'Use Proxy', 380: 'Alternative Service',
  400: 'Bad Request', 401: 'Unauthorized', 402: 'Payment Required', 403: 'Forbidden', 404: 'Not Found',
  405: 'Method Not Allowed', 406: 'Not Acceptable', 407: 'Proxy Authentication Required', 408: 'Request Timeout',
  410: 'Gone', 412: 'Conditional Request Failed', 413: 'Request Entity Too Large', 414: 'Request-URI Too Long',
  415: 'Unsupported Media Type', 416: 'Unsupported URI Scheme', 420: 'Bad Extension', 421: 'Extension Required',
  422: 'Session Interval Too Small', 423: 'Interval Too Brief', 429: 'Provide Referrer Identity',
  480: 'Temporarily Unavailable', 481: 'Call/Transaction Does Not Exist', 482: 'Loop Detected', 483: 'Too Many Hops',
  484: 'Address Incomplete', 485: 'Ambiguous', 486: 'Busy Here', 487: 'Request Terminated', 488: 'Not Acceptable Here',
  489: 'Bad Event', 491: 'Request Pending', 493: 'Undecipherable',
  500: 'Server Internal Error', 501: 'Not Implemented', 502: 'Bad Gateway', 503: 'Service Unavailable',
  504: 'Server Time-out', 505: 'Version Not Supported', 513: 'Message Too Large', 580: 'Precondition Failure',
  600: 'Busy Everywhere', 603: 'Decline', 604: 'Does Not Exist Anywhere', 606: 'Not Acceptable',
};

/** Default reason phrase for a status code (class name when the code is unknown). */
export function reasonPhrase(status: number): string {
  const known = DEFAULT_REASONS[status];
  if (known !== undefined) return known;
  if (status < 200) return 'Provisional';
  if (status < 300) return 'Success';
  if (status < 400) return 'Redirection';
  if (status < 500) return 'Client Error';
  if (status < 600) return 'Server Error';
  return 'Global Failure';
}

export interface CreateResponseOptions {
  /** Added to To when the request's To has no tag (§8.2.6.2). */
  toTag?: string;
  /** Extra headers, appended in order. */
  headers?: [string, string][];
  body?: Buffer;
  /** Content-Type of `body`. */
  contentType?: string;
}

/**
 * Build a response to `req` (RFC 3261 §8.2.6): Via (all, in order), From,
 * To (+ tag), Call-ID and CSeq copied from the request (§8.2.6.2), and
 * Timestamp copied into a 100 (§8.2.6.1). Raw header values are copied, so
 * this works on a `SipParseError.partial` request too.
 */
export function createResponse(
  req: SipRequest,
  status: number,
  reason?: string,
  opts: CreateResponseOptions = {},
): SipResponse {
  const src = req.headers;
  const headers = new SipHeaders();
  for (const v of src.getAll('Via')) headers.append('Via', v);
  const from = src.get('From');
  if (from !== undefined) headers.append('From', from);
  const to = src.get('To');
  if (to !== undefined) {
    headers.append('To', opts.toTag !== undefined && getTag(to) === undefined ? `${to};tag=${opts.toTag}` : to);
  }
  const callId = src.get('Call-ID');
  if (callId !== undefined) headers.append('Call-ID', callId);
  const cseq = src.get('CSeq');
  if (cseq !== undefined) headers.append('CSeq', cseq);
  if (status === 100) {
    const ts = src.get('Timestamp');
    if (ts !== undefined) headers.append('Timestamp', ts);
  }
  if (opts.headers) for (const [n, v] of opts.headers) headers.append(n, v);
  const body = opts.body ?? Buffer.alloc(0);
  if (opts.contentType !== undefined) headers.set('Content-Type', opts.contentType);
  headers.set('Content-Length', String(body.length));
  return { type: 'response', version: 'SIP/2.0', status, reason: reason ?? reasonPhrase(status), headers, body };
}
