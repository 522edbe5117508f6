/**
 * Assembly of one request inside a dialog (RFC 3261 §12.2.1.1): the
 * header fields in the usual order, caller-supplied extras, and the body.
 * The dialog decides the numbers and the routing; this only writes them.
 */
import { MeshError } from '../../../regions/core/errors.js';
import { SipHeaders, canonicalHeaderName } from '../message/headers.js';
import type { SipRequest } from '../message/types.js';
import type { RequestTarget } from './route-set.js';
import type { DialogRequestOptions } from './types.js';

/** Headers that carry the dialog's identity or routing; callers may not override them. */
const DIALOG_OWNED_HEADERS: ReadonlySet<string> = new Set(['from', 'to', 'call-id', 'cseq', 'route', 'via', 'content-length']);

/** RFC 3261 §25.1 token: what a method name may contain. */
const TOKEN = /^[A-Za-z0-9.!%*_+`'~-]+$/;

/** RFC 3261 §8.1.1.6: the recommended initial Max-Forwards. */
const MAX_FORWARDS = '70';

/** Checked request options: which headers the caller overrides. */
export interface CheckedRequestOptions {
  overridden: ReadonlySet<string>;
  body: Buffer;
}

/**
 * Validate options before any dialog state changes, so a refused request
 * does not consume a CSeq number.
 */
export function checkRequestOptions(method: string, opts: DialogRequestOptions): CheckedRequestOptions {
  if (!TOKEN.test(method)) throw new MeshError('BAD_REQUEST', `invalid method name: ${method}`);
  const overridden = new Set<string>();
  for (const [name] of opts.headers ?? []) {
    const lower = canonicalHeaderName(name).toLowerCase();
    if (DIALOG_OWNED_HEADERS.has(lower)) throw new MeshError('BAD_REQUEST', `header ${name} is set by the dialog`);
    overridden.add(lower);
  }
  const body = opts.body ?? Buffer.alloc(0);
  // RFC 3261 §7.4.1: a non-empty body must say what it is.
  if (body.length > 0 && opts.contentType === undefined && !overridden.has('content-type')) {
    throw new MeshError('BAD_REQUEST', 'a body needs a Content-Type');
  }
  return { overridden, body };
}

export interface InDialogRequestFields {
  method: string;
  seq: number;
  target: RequestTarget;
  /** From value with the local tag. */
  from: string;
  /** To value with the remote tag (none for an RFC 2543 peer). */
  to: string;
  callId: string;
  /** Contact to add, or undefined for none. */
  contact: string | undefined;
}

export function buildInDialogRequest(f: InDialogRequestFields, opts: DialogRequestOptions, checked: CheckedRequestOptions): SipRequest {
  const h = new SipHeaders();
  for (const r of f.target.routes) h.append('Route', r);
  if (!checked.overridden.has('max-forwards')) h.append('Max-Forwards', MAX_FORWARDS);
  h.append('From', f.from);
  h.append('To', f.to);
  h.append('Call-ID', f.callId);
  h.append('CSeq', `${f.seq} ${f.method}`);
  if (f.contact !== undefined && !checked.overridden.has('contact')) h.append('Contact', f.contact);
  for (const [name, value] of opts.headers ?? []) h.append(name, value);
  if (opts.contentType !== undefined && !checked.overridden.has('content-type')) h.append('Content-Type', opts.contentType);
  h.append('Content-Length', String(checked.body.length));
  return { type: 'request', method: f.method, uri: f.target.requestUri, version: 'SIP/2.0', headers: h, body: checked.body };
}
