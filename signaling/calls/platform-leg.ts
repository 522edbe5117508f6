/**
 * A `CallLeg` made of two halves: the SIP side (answer, reject, hang up: an
 * inbound UAS dialog or an outbound UAC dialog) and the media side (rtpengine
 * operations on the leg's session, media/leg). The owner of the SIP dialog
 * calls `markEnded` once when the dialog ends, whoever ended it.
 */
import type { Logger } from '../../regions/core/log.js';
import { sdpBody, SDP_TYPE } from '../b2bua/sdp.js';
import type { Dialog } from '../sip/dialog/index.js';
import { createResponse, type SipRequest, type SipResponse } from '../sip/message/index.js';
import type { ServerTransaction } from '../sip/stack.js';
import type { CallLeg, LegEndReason, MediaEndpoint, RecordingHandle } from '../router/leg.js';

export type LegMediaOps = Pick<CallLeg, 'play' | 'sendDigits' | 'onDigit' | 'startRecording' | 'mediaEndpoint' | 'connectMedia'> & {
  /** Release what the media side holds for the leg (listeners, sockets, open recordings). */
  close?(): Promise<void>;
  /** The party re-offered (re-INVITE): renegotiate inside the media engine; resolves with the SDP to answer it with. */
  answerPartyOffer?(): Promise<string>;
};

export interface LegSipSide {
  answer(): Promise<void>;
  reject(reason: 'busy' | 'rejected'): Promise<void>;
  hangup(): Promise<void>;
}

export class PlatformLeg implements CallLeg {
  readonly ended: Promise<LegEndReason>;
  private endedReason: LegEndReason | undefined;
  private resolveEnded!: (r: LegEndReason) => void;
  private isAnswered: boolean;

  constructor(
    readonly callSid: string,
    readonly accountSid: string,
    readonly callId: string,
    private readonly sip: LegSipSide,
    private readonly media: LegMediaOps,
    answered: boolean,
  ) {
    this.isAnswered = answered;
    this.ended = new Promise((resolve) => (this.resolveEnded = resolve));
  }

  get answered(): boolean {
    return this.isAnswered;
  }

  get isEnded(): boolean {
    return this.endedReason !== undefined;
  }

  /** Called by the SIP side: the dialog is confirmed. */
  markAnswered(): void {
    this.isAnswered = true;
  }

  /** Called by the SIP side once, when the dialog is over. Later calls are ignored. */
  markEnded(reason: LegEndReason): void {
    if (this.endedReason !== undefined) return;
    this.endedReason = reason;
    this.resolveEnded(reason);
    void this.media.close?.().catch(() => undefined);
  }

  async answer(): Promise<void> {
    if (this.isAnswered || this.isEnded) return;
    await this.sip.answer();
  }

  reject(reason: 'busy' | 'rejected'): Promise<void> {
    return this.isEnded ? Promise.resolve() : this.sip.reject(reason);
  }

  hangup(): Promise<void> {
    return this.isEnded ? Promise.resolve() : this.sip.hangup();
  }

  play(file: string, durationMs: number, signal?: AbortSignal): Promise<void> {
    return this.media.play(file, durationMs, signal);
  }

  sendDigits(digits: string, signal?: AbortSignal): Promise<void> {
    return this.media.sendDigits(digits, signal);
  }

  onDigit(listener: (digit: string) => void): () => void {
    return this.media.onDigit(listener);
  }

  startRecording(): Promise<RecordingHandle> {
    return this.media.startRecording();
  }

  mediaEndpoint(): MediaEndpoint {
    return this.media.mediaEndpoint();
  }

  connectMedia(peer: MediaEndpoint | undefined): Promise<void> {
    return this.media.connectMedia(peer);
  }

  /** A re-INVITE from the party: the SDP for the 200 OK, or undefined when the media side cannot renegotiate. */
  async answerPartyOffer(): Promise<string | undefined> {
    return this.media.answerPartyOffer === undefined ? undefined : this.media.answerPartyOffer();
  }
}

/**
 * A re-INVITE from the party of a platform leg (hold, resume, a new address):
 * rtpengine takes the new offer and the platform side answers as it stands.
 * Without an offer (RFC 3261 §14.1 late offer) the leg keeps its media: 488.
 * `sdp` holds the party's current SDP; it changes only when the answer went out.
 */
export async function answerReinvite(o: {
  leg: PlatformLeg;
  req: SipRequest;
  tx: ServerTransaction;
  contact: string;
  sdp: { party: string; toParty?: string };
  log: Logger;
}): Promise<void> {
  const { req, tx } = o;
  const contentType = req.headers.get('Content-Type') ?? '';
  if (req.body.length === 0 || !contentType.toLowerCase().startsWith(SDP_TYPE)) {
    tx.respond(createResponse(req, 488, 'SDP Offer Required'));
    return;
  }
  const previous = o.sdp.party;
  o.sdp.party = req.body.toString('utf8');
  try {
    const answer = await o.leg.answerPartyOffer();
    if (answer === undefined) throw new Error('media side cannot renegotiate');
    o.sdp.toParty = answer;
    tx.respond(createResponse(req, 200, 'OK', { headers: [['Contact', o.contact]], body: sdpBody(answer), contentType: SDP_TYPE }));
  } catch (e) {
    o.sdp.party = previous;
    o.log.warn('re-INVITE not renegotiated', { callSid: o.leg.callSid, error: e as Error });
    tx.respond(createResponse(req, 488, 'Not Acceptable Here'));
  }
}

/**
 * A request inside a platform call's dialog (inbound application calls, API
 * calls, Dial legs): BYE ends it (`onBye`), OPTIONS/INFO are answered, a
 * re-INVITE is renegotiated on the leg, anything else gets `unsupported`'s
 * answer (default 488).
 */
export function answerInDialog(
  call: { dialog: Dialog | undefined; leg: PlatformLeg | undefined; sdp: { party: string; toParty?: string } },
  req: SipRequest,
  tx: ServerTransaction | null,
  d: { contact: string; log: Logger; onBye: () => void; unsupported?: (req: SipRequest) => SipResponse },
): void {
  if (tx === null) return; // ACK to something we answered: nothing owed
  const check = call.dialog?.receiveRequest(req) ?? { ok: false as const, status: 481 as const, reason: 'Call/Transaction Does Not Exist' };
  if (!check.ok) {
    tx.respond(createResponse(req, check.status, check.reason));
    return;
  }
  if (req.method === 'BYE') {
    tx.respond(createResponse(req, 200, 'OK'));
    d.onBye();
    return;
  }
  if (req.method === 'OPTIONS' || req.method === 'INFO') {
    tx.respond(createResponse(req, 200, 'OK'));
    return;
  }
  if (req.method === 'INVITE' && call.leg !== undefined) {
    void answerReinvite({ leg: call.leg, req, tx, contact: d.contact, sdp: call.sdp, log: d.log });
    return;
  }
  tx.respond(d.unsupported?.(req) ?? createResponse(req, 488, 'Not Acceptable Here'));
}
