/**
 * One call through the B2BUA: the A leg (carrier → us, we are its UAS) and the
 * B leg (us → destination, we are its UAC), tied to one rtpengine session.
 */
import type { CallSid } from '../../regions/core/ids.js';
import type { Dialog } from '../sip/dialog/index.js';
import type { Endpoint, SipRequest } from '../sip/message/index.js';
import type { ClientTransaction, ServerTransaction } from '../sip/stack.js';

export type CallState =
  | 'routing' // INVITE received, media and B leg being set up
  | 'proceeding' // B leg sent, no answer yet
  | 'answered' // 2xx relayed to A
  | 'ending' // BYE in flight
  | 'ended';

export type LegRole = 'a' | 'b';

export interface ALeg {
  readonly role: 'a';
  readonly invite: SipRequest;
  readonly tx: ServerTransaction;
  readonly source: Endpoint;
  readonly callId: string;
  /** The From tag of the caller. */
  readonly remoteTag: string;
  /** The To tag we hand out on this leg. */
  readonly localTag: string;
  dialog: Dialog | undefined;
}

export interface BLeg {
  readonly role: 'b';
  readonly invite: SipRequest;
  readonly dest: Endpoint;
  readonly callId: string;
  /** Our From tag on this leg. */
  readonly localTag: string;
  /** The callee's To tag, once a response carries one. */
  remoteTag: string | undefined;
  tx: ClientTransaction | undefined;
  dialog: Dialog | undefined;
}

export type Leg = ALeg | BLeg;

/** A re-INVITE being relayed from one leg to the other. */
export interface PendingReinvite {
  readonly from: LegRole;
  readonly tx: ServerTransaction;
  readonly request: SipRequest;
}

export interface Call {
  readonly sid: CallSid;
  state: CallState;
  readonly a: ALeg;
  readonly b: BLeg;
  readonly mediaNodeId: string;
  readonly from: string;
  readonly to: string;
  readonly createdAt: number;
  answeredAt: number | undefined;
  /** The A leg was cancelled (CANCEL, or Timer C): any late 2xx from B is ACKed and BYEd. */
  cancelled: boolean;
  reinvite: PendingReinvite | undefined;
  noAnswerTimer: NodeJS.Timeout | undefined;
}
