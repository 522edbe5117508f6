/**
 * Requests the transaction layer builds itself: the ACK for a non-2xx final
 * response (RFC 3261 §17.1.1.3) and CANCEL (§9.1). Both copy fields from the
 * original request and carry exactly its top Via, so they reach the same
 * server transaction.
 */
import { SipHeaders } from '../message/headers.js';
import type { SipRequest, SipResponse } from '../message/types.js';
import { MeshError } from '../../../regions/core/errors.js';

function copyCommon(orig: SipRequest, method: string, to: string): SipHeaders {
  const h = new SipHeaders();
  const topVia = orig.headers.getList('Via')[0];
  const from = orig.headers.get('From');
  const callId = orig.headers.get('Call-ID');
  const cseq = orig.headers.get('CSeq');
  if (topVia === undefined || from === undefined || callId === undefined || cseq === undefined) {
    throw new MeshError('BAD_REQUEST', `cannot build ${method}: original request lacks Via/From/Call-ID/CSeq`);
  }
  h.append('Via', topVia);
  h.append('Max-Forwards', '70');
  h.append('From', from);
  h.append('To', to);
  h.append('Call-ID', callId);
  // Same CSeq number, method replaced (§17.1.1.3, §9.1).
  const seq = cseq.trim().split(/\s+/)[0] ?? '1';
  h.append('CSeq', `${seq} ${method}`);
  // Route headers must be the same as the original request's (§17.1.1.3, §9.1).
  for (const r of orig.headers.getAll('Route')) h.append('Route', r);
  return h;
}

function request(method: string, uri: string, headers: SipHeaders): SipRequest {
  return { type: 'request', method, uri, version: 'SIP/2.0', headers, body: Buffer.alloc(0) };
}

/** ACK for a 300–699 response: To comes from the response (it carries the UAS tag). */
export function buildNon2xxAck(invite: SipRequest, res: SipResponse): SipRequest {
  const to = res.headers.get('To') ?? invite.headers.get('To') ?? '';
  return request('ACK', invite.uri, copyCommon(invite, 'ACK', to));
}

/** CANCEL for a pending INVITE: To exactly as in the INVITE (no tag added). */
export function buildCancel(invite: SipRequest): SipRequest {
  return request('CANCEL', invite.uri, copyCommon(invite, 'CANCEL', invite.headers.get('To') ?? ''));
}
