/**
 * The SIP side of a call the platform places (API originate, `Dial` legs):
 * its state, the INVITE we send, where it goes, how its final response reads
 * as a call status, the BYE that ends it, and what it answers in its dialog.
 * `originator.ts` drives these through a call's life; nothing here keeps state
 * of its own.
 */
import type { Logger } from '../../regions/core/log.js';
import { MeshError } from '../../regions/core/errors.js';
import type { CallRecord, CallStatus } from '../../regions/store/call-records.js';
import type { AccountRecord } from '../../regions/store/schema.js';
import type { RouteTable } from '../b2bua/routes.js';
import { sdpBody, SDP_TYPE } from '../b2bua/sdp.js';
import type { DialOutcome } from '../router/leg.js';
import type { Dialog } from '../sip/dialog/index.js';
import { generateCallId, parseUri, SipHeaders, type Endpoint, type SipRequest } from '../sip/message/index.js';
import type { ClientTransaction, SipStack } from '../sip/stack.js';
import { uriToEndpoint } from '../sip/transport/endpoint.js';
import type { PlatformLeg } from './platform-leg.js';

/**
 * One INVITE of a call we place. A call to a number or a URI has one; a call
 * to a client has one per live registration (client-branches.ts), each its
 * own dialog: the first 2xx wins, the others get CANCEL (and ACK + BYE when a
 * 2xx crosses the CANCEL, RFC 3261 §15).
 */
export interface OutboundBranch {
  invite: SipRequest;
  dest: Endpoint;
  localTag: string;
  tx: ClientTransaction | undefined;
  /** The final status once the branch is over (its final response, a timeout, a transport error). */
  final: number | undefined;
}

export interface OutboundCall {
  rec: CallRecord;
  account: AccountRecord;
  /** Every INVITE of the call; `invite`, `dest`, `localTag` and `tx` are the answered one's (the first one's before). */
  branches: OutboundBranch[];
  invite: SipRequest;
  dest: Endpoint;
  /** Our tag on the SIP leg (From). */
  localTag: string;
  /** The platform's own party in the rtpengine session. */
  platformTag: string;
  mediaNodeId: string;
  /** The callee leg is a WebRTC client (ICE, DTLS-SRTP on its side of the media node); see originator.ts. */
  webrtc?: boolean;
  tx: ClientTransaction | undefined;
  dialog: Dialog | undefined;
  answeredAt: number | undefined;
  /** When the INVITE was sent, and the post-dial delay once the first 180/183 or 2xx came. */
  invitedAt?: number;
  postDialDelayMs?: number;
  ringTimer: NodeJS.Timeout | undefined;
  state: 'calling' | 'answered' | 'ended';
  sequence: number;
  /** Set when the API asked to hang up before an answer arrived. */
  cancelRequested: boolean;
  /** The leg the call router runs on, once answered. */
  leg: PlatformLeg | undefined;
  /** The callee's current SDP (from its 200 OK, then its re-INVITEs). */
  sdp: { party: string; toParty?: string };
  /** A child leg of `Dial`: told the outcome instead of running an application. */
  dial: { resolve: (o: DialOutcome) => void; offAbort: () => void; aborted: () => boolean } | undefined;
}

/** `sip:` URIs are dialed as given; numbers go through the route table. Throws NOT_FOUND without a route. */
export function resolveDestination(to: string, routes: RouteTable): { dest: Endpoint; ruri: string } {
  if (/^sips?:/i.test(to)) {
    const uri = parseUri(to);
    return { dest: uriToEndpoint(uri, 'UDP'), ruri: to };
  }
  const route = routes.lookup(to);
  if (route === undefined) throw new MeshError('NOT_FOUND', `no route for ${to}`);
  const uri = parseUri(route.destination);
  const dest = uriToEndpoint(uri, 'UDP');
  const user = to.replace(/[^0-9+*#]/g, '');
  const ruri = `sip:${user}@${uri.host}${uri.port !== undefined ? `:${uri.port}` : ''}${dest.transport === 'TCP' ? ';transport=tcp' : ''}`;
  return { dest, ruri };
}

/** The INVITE of a call we place, with rtpengine's offer as its SDP (RFC 3261 §8.1.1). */
export function outboundInvite(o: { ruri: string; from: string; local: Endpoint; localTag: string; contact: string; offer: string; headers?: readonly [string, string][] }): SipRequest {
  // The caller id is a number, a SIP user or a client name: anything else would break the From header.
  const fromUser = o.from.replace(/^client:/, '').replace(/[^0-9A-Za-z+*#._-]/g, '') || 'anonymous';
  return {
    type: 'request',
    method: 'INVITE',
    uri: o.ruri,
    version: 'SIP/2.0',
    headers: new SipHeaders([
      ['From', `<sip:${fromUser}@${o.local.address}>;tag=${o.localTag}`],
      ['To', `<${o.ruri}>`],
      ['Call-ID', generateCallId(o.local.address)],
      ['CSeq', '1 INVITE'],
      ['Max-Forwards', '70'],
      ['Contact', o.contact],
      ...(o.headers ?? []),
      ['Content-Type', SDP_TYPE],
    ]),
    body: sdpBody(o.offer),
  };
}

/** The call status a final failure response means (busy, no answer, or failed). */
export function statusOfFailure(sipStatus: number): CallStatus {
  if (sipStatus === 486 || sipStatus === 600) return 'busy';
  if (sipStatus === 408 || sipStatus === 480 || sipStatus === 487) return 'no-answer';
  return 'failed';
}

/**
 * The outcome of a call none of whose branches answered (each branch's final
 * status): one status shared by all is it; else no-answer wins over busy,
 * busy over failed (a client ringing on two devices, one busy, was not answered).
 */
export function statusOfBranches(finals: readonly number[]): { status: CallStatus; sipStatus: number | undefined } {
  const statuses = finals.map(statusOfFailure);
  const pick = (s: CallStatus): { status: CallStatus; sipStatus: number | undefined } => ({ status: s, sipStatus: finals[statuses.indexOf(s)] });
  if (statuses.length === 0) return { status: 'failed', sipStatus: undefined };
  if (statuses.every((s) => s === statuses[0])) return pick(statuses[0]!);
  if (statuses.includes('no-answer')) return pick('no-answer');
  if (statuses.includes('busy')) return pick('busy');
  return pick('failed');
}

/** BYE on the call's dialog, if it has one; its answer is not waited for. */
export function sendBye(stack: SipStack, call: OutboundCall, log: Logger): void {
  if (call.dialog === undefined) return;
  stack.sendRequest(call.dialog.createRequest('BYE'), call.dest, {
    onFinal: () => {},
    onTimeout: () => log.info('originate: BYE not answered', { callSid: call.rec.sid }),
    onTransportError: () => {},
  });
}

/** CANCEL every branch of `call` still ringing except `keep` (RFC 3261 §9.1); they count as 487. */
export function cancelBranches(stack: SipStack, call: OutboundCall, keep: OutboundBranch | undefined): void {
  for (const b of call.branches) {
    if (b === keep || b.final !== undefined) continue;
    b.final = 487;
    if (b.tx !== undefined) stack.cancel(b.tx);
  }
}

/** BYE on a dialog that is not the call's (a branch that answered too late, RFC 3261 §15); its answer is not waited for. */
export function sendByeOn(stack: SipStack, dialog: Dialog, dest: Endpoint, onTimeout: () => void): void {
  stack.sendRequest(dialog.createRequest('BYE'), dest, { onFinal: () => {}, onTimeout, onTransportError: () => {} });
}
