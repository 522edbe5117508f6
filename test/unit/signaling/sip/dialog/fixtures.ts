/**
 * Messages of one call, built header by header so the dialog tests depend
 * only on the SipHeaders container. Alice (atlanta) calls Bob (biloxi)
 * through proxy P1 (Alice's side) then P2 (Bob's side), both record-routing.
 */
import { SipHeaders } from '../../../../../signaling/sip/message/headers.js';
import type { SipRequest, SipResponse } from '../../../../../signaling/sip/message/types.js';

export const CALL_ID = 'a84b4c76e66710@pc33.atlanta.example.com';
export const ALICE_TAG = '1928301774';
export const BOB_TAG = 'a6c85cf';
export const ALICE_CONTACT = 'sip:alice@192.0.2.101:5060';
export const BOB_CONTACT = 'sip:bob@192.0.2.4:5060';
export const P1 = '<sip:p1.atlanta.example.com;lr>';
export const P2 = '<sip:p2.biloxi.example.com;lr>';
export const INVITE_CSEQ = 314159;

export function request(method: string, uri: string, headers: [string, string][], body = ''): SipRequest {
  return { type: 'request', method, uri, version: 'SIP/2.0', headers: new SipHeaders(headers), body: Buffer.from(body) };
}

export function response(status: number, reason: string, headers: [string, string][], body = ''): SipResponse {
  return { type: 'response', version: 'SIP/2.0', status, reason, headers: new SipHeaders(headers), body: Buffer.from(body) };
}

/**
 * The INVITE. `recordRoute` is what reaches Bob: the proxy nearest Bob is on
 * top (P2, P1) because each proxy prepends its Record-Route (RFC 3261 §16.6).
 */
export function invite(opts: { uri?: string; recordRoute?: string[]; fromTag?: string | null; contact?: string | null } = {}): SipRequest {
  const fromTag = opts.fromTag === undefined ? ALICE_TAG : opts.fromTag;
  const h: [string, string][] = [
    ['Via', 'SIP/2.0/UDP p2.biloxi.example.com;branch=z9hG4bK2'],
    ['Via', 'SIP/2.0/UDP p1.atlanta.example.com;branch=z9hG4bK1'],
    ['Via', 'SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK0'],
    ['Max-Forwards', '68'],
    ['To', 'Bob <sip:bob@biloxi.example.com>'],
    ['From', fromTag === null ? 'Alice <sip:alice@atlanta.example.com>' : `Alice <sip:alice@atlanta.example.com>;tag=${fromTag}`],
    ['Call-ID', CALL_ID],
    ['CSeq', `${INVITE_CSEQ} INVITE`],
  ];
  for (const rr of opts.recordRoute ?? [P2, P1]) h.push(['Record-Route', rr]);
  const contact = opts.contact === undefined ? `<${ALICE_CONTACT}>` : opts.contact;
  if (contact !== null) h.push(['Contact', contact]);
  h.push(['Content-Type', 'application/sdp']);
  return request('INVITE', opts.uri ?? 'sip:bob@biloxi.example.com', h, 'v=0\r\n');
}

/** Bob's answer to the INVITE as it reaches Alice; Record-Route copied from the request (§16.6). */
export function inviteResponse(
  status: number,
  opts: { toTag?: string | null; contact?: string | null; recordRoute?: string[]; cseq?: string } = {},
): SipResponse {
  const toTag = opts.toTag === undefined ? BOB_TAG : opts.toTag;
  const h: [string, string][] = [
    ['Via', 'SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK0'],
    ['To', toTag === null ? 'Bob <sip:bob@biloxi.example.com>' : `Bob <sip:bob@biloxi.example.com>;tag=${toTag}`],
    ['From', `Alice <sip:alice@atlanta.example.com>;tag=${ALICE_TAG}`],
    ['Call-ID', CALL_ID],
    ['CSeq', opts.cseq ?? `${INVITE_CSEQ} INVITE`],
  ];
  for (const rr of opts.recordRoute ?? [P2, P1]) h.push(['Record-Route', rr]);
  const contact = opts.contact === undefined ? `<${BOB_CONTACT}>` : opts.contact;
  if (contact !== null) h.push(['Contact', contact]);
  return response(status, status >= 200 ? 'OK' : 'Ringing', h);
}

/** A request Bob sends to Alice inside the dialog (From = Bob, To = Alice). */
export function fromBob(method: string, cseq: number | string, extra: [string, string][] = []): SipRequest {
  return request(method, ALICE_CONTACT, [
    ['Via', 'SIP/2.0/UDP 192.0.2.4;branch=z9hG4bKb'],
    ['From', `Bob <sip:bob@biloxi.example.com>;tag=${BOB_TAG}`],
    ['To', `Alice <sip:alice@atlanta.example.com>;tag=${ALICE_TAG}`],
    ['Call-ID', CALL_ID],
    ['CSeq', typeof cseq === 'number' ? `${cseq} ${method}` : cseq],
    ...extra,
  ]);
}

/** A request Alice sends to Bob inside the dialog (as Bob's UAS receives it). */
export function fromAlice(method: string, cseq: number | string, extra: [string, string][] = [], localTag = 'bobtag1'): SipRequest {
  return request(method, BOB_CONTACT, [
    ['Via', 'SIP/2.0/UDP 192.0.2.101;branch=z9hG4bKa'],
    ['From', `Alice <sip:alice@atlanta.example.com>;tag=${ALICE_TAG}`],
    ['To', `Bob <sip:bob@biloxi.example.com>;tag=${localTag}`],
    ['Call-ID', CALL_ID],
    ['CSeq', typeof cseq === 'number' ? `${cseq} ${method}` : cseq],
    ...extra,
  ]);
}

/** A response Bob sends to an in-dialog request from Alice (seen by Alice). */
export function responseToAlice(status: number, cseq: string, extra: [string, string][] = [], toTag = BOB_TAG): SipResponse {
  return response(status, 'OK', [
    ['Via', 'SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKx'],
    ['From', `Alice <sip:alice@atlanta.example.com>;tag=${ALICE_TAG}`],
    ['To', `Bob <sip:bob@biloxi.example.com>;tag=${toTag}`],
    ['Call-ID', CALL_ID],
    ['CSeq', cseq],
    ...extra,
  ]);
}
