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
  /**
   * The caller's INVITE and its server transaction; undefined for a call adopted from another
   * node (see adopt.ts), and released once the call is answered (new-call.ts onBFinal).
   */
  invite: SipRequest | undefined;
  tx: ServerTransaction | undefined;
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
  /** The INVITE we sent (and its transaction below); undefined for an adopted call, and released once the call is answered. */
  invite: SipRequest | undefined;
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

/** A leg found by (Call-ID, our tag). */
export interface LegMatch {
  readonly call: Call;
  readonly role: LegRole;
}

/**
 * What an answered call's leg keeps once the call ended: nothing but the word. Its retransmitted
 * 2xx gets its ACK from the stack's sent ACKs, and a BYE crossing ours only needs 200, so the
 * Call itself is garbage at once instead of being held (and marked by every major GC) for 64*T1.
 */
export const ENDED_LEG = 'ended';

/** A re-INVITE being relayed from one leg to the other. */
export interface PendingReinvite {
  readonly from: LegRole;
  readonly tx: ServerTransaction;
  readonly request: SipRequest;
}

/**
 * The last SDP each party sent us and the last we sent each party. Kept so a
 * call can be re-anchored on another media node without asking either party
 * for a new offer (see reanchor.ts), and so every new offer we make on a leg
 * carries a higher o= session version than the previous one (RFC 3264 §8).
 */
export interface CallSdp {
  /** Last SDP from the A party (its offer, or its answer to our re-INVITE). */
  fromA: string | undefined;
  /** Last SDP from the B party. */
  fromB: string | undefined;
  /** Last SDP we sent the A party. */
  toA: string | undefined;
  /** Last SDP we sent the B party. */
  toB: string | undefined;
}

export interface Call {
  readonly sid: CallSid;
  state: CallState;
  readonly a: ALeg;
  readonly b: BLeg;
  /** The media node carrying the call; changes when the call is re-anchored. */
  mediaNodeId: string;
  readonly from: string;
  readonly to: string;
  readonly createdAt: number;
  /** performance.now() when the INVITE arrived (INVITE→200 histogram); absent for calls adopted from the store. */
  readonly receivedAt?: number;
  answeredAt: number | undefined;
  /** First 180/183 from the B side: post-dial delay ends here (or at the answer). */
  ringingAt?: number;
  /** The A leg was cancelled (CANCEL, or Timer C): any late 2xx from B is ACKed and BYEd. */
  cancelled: boolean;
  /** The B leg went to the tenant's home region (this node is the call's edge), for the ended-call report. */
  readonly forwardedHome: boolean;
  /** A call a peer region's edge forwarded here (X-Mesh-Edge-Region, X-Mesh-Call-Sid): that region and the edge's CallSid. */
  readonly fromEdge: { readonly region: string; readonly callSid: string | undefined } | undefined;
  reinvite: PendingReinvite | undefined;
  /** A re-anchor on another media node is in progress: re-INVITEs from the parties get 491 meanwhile. */
  reanchoring: boolean;
  readonly sdp: CallSdp;
  noAnswerTimer: NodeJS.Timeout | undefined;
}
