/**
 * In-dialog work of the B2BUA: BYE from either side, re-INVITE (hold /
 * resume) relayed with a fresh rtpengine offer/answer, INFO relayed, OPTIONS
 * answered, and the ACKs the B2BUA owes as UAC.
 */
import type { Logger } from '../../regions/core/log.js';
import type { Dialog } from '../sip/dialog/index.js';
import { createResponse, getTag, parseCSeq, type Endpoint, type SipRequest, type SipResponse } from '../sip/message/index.js';
import type { ServerTransaction, SipStack } from '../sip/stack.js';
import { otherLeg, safeRespond, type B2buaCore } from './core.js';
import { ENDED_LEG, type Call, type LegRole } from './call.js';
import type { ByeRetries } from './bye-retry.js';
import type { MediaPort } from './media-port.js';
import { sdpBody, SDP_TYPE } from './sdp.js';

export class InDialogHandler {
  constructor(
    private readonly b2bua: B2buaCore,
    private readonly stack: SipStack,
    private readonly media: MediaPort,
    private readonly log: Logger,
    private readonly byes: ByeRetries,
  ) {}

  /** A request in the dialog of a call that ended: a retransmitted or crossing BYE gets 200 so the peer stops, anything else 481. */
  answerEnded(req: SipRequest, tx: ServerTransaction | null): void {
    if (tx === null || req.method === 'ACK') return;
    tx.respond(createResponse(req, req.method === 'BYE' ? 200 : 481, req.method === 'BYE' ? 'OK' : 'Call/Transaction Does Not Exist'));
  }

  handle(call: Call, from: LegRole, req: SipRequest, tx: ServerTransaction | null): void {
    if (req.method === 'ACK') return; // ACK to our 2xx (or to a relayed re-INVITE's 2xx): nothing owed
    if (tx === null) return;
    const dialog = this.dialogOf(call, from);
    if (call.state === 'ended') {
      this.answerEnded(req, tx);
      return;
    }
    if (dialog !== undefined) {
      const check = dialog.receiveRequest(req);
      if (!check.ok) {
        tx.respond(createResponse(req, check.status, check.reason));
        return;
      }
    }
    switch (req.method) {
      case 'BYE':
        tx.respond(createResponse(req, 200, 'OK'));
        if (call.state === 'answered' || call.state === 'ending') {
          this.hangup(call, `bye-from-${from}`, [otherLeg(from)]);
        } else {
          // BYE on an early dialog (RFC 3261 §15): the caller gives up like a CANCEL would.
          call.cancelled = true;
          if (call.b.tx !== undefined) this.stack.cancel(call.b.tx);
          this.b2bua.failCall(call, 'REQUEST_TERMINATED');
        }
        return;
      case 'INVITE':
        this.relayReinvite(call, from, req, tx).catch((e: unknown) => {
          call.reinvite = undefined;
          this.b2bua.onHandlerError(e, req, tx);
        });
        return;
      case 'OPTIONS':
        tx.respond(createResponse(req, 200, 'OK'));
        return;
      case 'INFO':
        this.relaySimple(call, from, req, tx);
        return;
      default:
        tx.respond(createResponse(req, 501, 'Not Implemented'));
    }
  }

  /** The tag that names a leg's party in the rtpengine session. */
  private mediaTag(call: Call, role: LegRole): string {
    return role === 'a' ? call.a.remoteTag : call.b.remoteTag ?? '';
  }

  dialogOf(call: Call, role: LegRole): Dialog | undefined {
    return role === 'a' ? call.a.dialog : call.b.dialog;
  }

  /**
   * Where in-dialog requests to a leg go. For the carrier leg we send back to the
   * address its INVITE came from (over TCP that is the same connection): carriers
   * expect symmetric signalling and their Contact may not be reachable from here.
   */
  destOf(call: Call, role: LegRole): Endpoint {
    return role === 'a' ? call.a.source : call.b.dest;
  }

  private async relayReinvite(call: Call, from: LegRole, req: SipRequest, tx: ServerTransaction): Promise<void> {
    if (call.state !== 'answered') {
      tx.respond(createResponse(req, 491, 'Request Pending'));
      return;
    }
    if (call.reinvite !== undefined || call.reanchoring) {
      // RFC 3261 §14.2: an offer while ours is outstanding gets 491 (a re-anchor has offers out on both legs).
      tx.respond(createResponse(req, 491, 'Request Pending'));
      return;
    }
    const to = otherLeg(from);
    const otherDialog = this.dialogOf(call, to);
    if (otherDialog === undefined) {
      tx.respond(createResponse(req, 500, 'Dialog Not Ready', { headers: [['Retry-After', '1']] }));
      return;
    }
    call.reinvite = { from, tx, request: req };
    let body: Buffer | undefined;
    if (req.body.length > 0) {
      try {
        const offered = req.body.toString('utf8');
        const sdp = await this.media.offer(call.mediaNodeId, call.a.callId, this.mediaTag(call, from), offered, this.mediaTag(call, to));
        body = sdpBody(sdp);
        if (from === 'a') {
          call.sdp.fromA = offered;
          call.sdp.toB = sdp;
        } else {
          call.sdp.fromB = offered;
          call.sdp.toA = sdp;
        }
      } catch (e) {
        call.reinvite = undefined;
        this.log.warn('media re-offer failed', { sid: call.sid, error: e as Error });
        tx.respond(createResponse(req, 503, 'Media Node Unavailable', { headers: [['Retry-After', '5']] }));
        return;
      }
    }
    const out = otherDialog.createRequest('INVITE', {
      headers: [['Contact', this.b2bua.contact(this.destOf(call, to).transport)]],
      ...(body !== undefined ? { body, contentType: SDP_TYPE } : {}),
    });
    this.stack.sendRequest(out, this.destOf(call, to), {
      onFinal: (res) =>
        this.onReinviteFinal(call, from, to, req, tx, res).catch((e: unknown) => {
          call.reinvite = undefined;
          this.b2bua.onHandlerError(e, req, tx);
        }),
      onTimeout: () => {
        call.reinvite = undefined;
        safeRespond(tx, createResponse(req, 408, 'Request Timeout'));
      },
      onTransportError: () => {
        call.reinvite = undefined;
        safeRespond(tx, createResponse(req, 503, 'Peer Unreachable'));
      },
    });
  }

  private async onReinviteFinal(call: Call, from: LegRole, to: LegRole, req: SipRequest, tx: ServerTransaction, res: SipResponse): Promise<void> {
    if (res.status < 300) {
      // Target refresh first (RFC 3261 §12.2.1.2), so the ACK goes to the Contact of this 2xx.
      try {
        this.dialogOf(call, to)?.updateFromResponse(res);
      } catch (e) {
        this.log.warn('re-INVITE 2xx did not fit the dialog', { sid: call.sid, error: e as Error });
      }
      this.sendAck(call, to, parseCSeq(res.headers.get('CSeq') ?? '1 INVITE').seq);
    }
    if (call.state !== 'answered') {
      call.reinvite = undefined;
      return;
    }
    let body: Buffer | undefined;
    if (res.status < 300 && res.body.length > 0) {
      try {
        const answered = res.body.toString('utf8');
        const sdp = await this.media.answer(call.mediaNodeId, call.a.callId, this.mediaTag(call, from), this.mediaTag(call, to), answered);
        body = sdpBody(sdp);
        if (to === 'a') {
          call.sdp.fromA = answered;
          call.sdp.toB = sdp;
        } else {
          call.sdp.fromB = answered;
          call.sdp.toA = sdp;
        }
      } catch (e) {
        this.log.warn('media re-answer failed', { sid: call.sid, error: e as Error });
      }
    }
    call.reinvite = undefined;
    // The dialogs' CSeqs (and maybe targets) moved: a standby taking over must not reuse a CSeq.
    this.b2bua.persist(call);
    safeRespond(
      tx,
      createResponse(req, res.status, res.reason, {
        headers: res.status < 300 ? [['Contact', this.b2bua.contact(this.destOf(call, from).transport)]] : [],
        ...(body !== undefined ? { body, contentType: SDP_TYPE } : {}),
      }),
    );
  }

  /** Relay a non-INVITE in-dialog request (INFO) and its final response. */
  private relaySimple(call: Call, from: LegRole, req: SipRequest, tx: ServerTransaction): void {
    const to = otherLeg(from);
    const otherDialog = this.dialogOf(call, to);
    if (otherDialog === undefined || call.state !== 'answered') {
      tx.respond(createResponse(req, 481, 'Call/Transaction Does Not Exist'));
      return;
    }
    const ct = req.headers.get('Content-Type');
    if (req.body.length > 0 && ct === undefined) {
      // RFC 3261 §20.15: a body must be described by Content-Type.
      tx.respond(createResponse(req, 400, 'Missing Content-Type'));
      return;
    }
    const out = otherDialog.createRequest(req.method, req.body.length > 0 && ct !== undefined ? { body: req.body, contentType: ct } : {});
    this.stack.sendRequest(out, this.destOf(call, to), {
      onFinal: (res) => {
        const rct = res.headers.get('Content-Type');
        safeRespond(tx, createResponse(req, res.status, res.reason, res.body.length > 0 && rct !== undefined ? { body: res.body, contentType: rct } : {}));
      },
      onTimeout: () => safeRespond(tx, createResponse(req, 408, 'Request Timeout')),
      onTransportError: () => safeRespond(tx, createResponse(req, 503, 'Peer Unreachable')),
    });
  }

  /** ACK a 2xx to an INVITE we sent on `role`'s leg (RFC 3261 §13.2.2.4: ACK is end-to-end, outside the transaction). */
  sendAck(call: Call, role: LegRole, cseq: number): void {
    const dialog = this.dialogOf(call, role);
    if (dialog === undefined) return;
    this.stack.sendAck(dialog.createAck(cseq), this.destOf(call, role));
  }

  /** A 2xx retransmission whose transaction is gone: our ACK was lost, send it again. */
  onStray2xx(res: SipResponse): void {
    const callId = res.headers.get('Call-ID') ?? '';
    const ourTag = getTag(res.headers.get('From') ?? '') ?? '';
    const found = this.b2bua.findLeg(callId, ourTag);
    // An answered call that ended: the stack's sent ACKs answered this 2xx already.
    if (found === undefined || found === ENDED_LEG) return;
    const cseq = parseCSeq(res.headers.get('CSeq') ?? '1 INVITE');
    if (cseq.method !== 'INVITE') return;
    this.sendAck(found.call, found.role, cseq.seq);
  }

  /** BYE a leg; an unanswered BYE is sent again for a while (bye-retry.ts), so the peer learns the call ended after a link cut too. */
  sendBye(call: Call, role: LegRole): void {
    const dialog = this.dialogOf(call, role);
    if (dialog === undefined) return;
    this.byes.send(
      (report) => {
        // A new request each time: the dialog gives it the next CSeq (RFC 3261 §12.2.1.1).
        const bye = dialog.createRequest('BYE');
        this.stack.sendRequest(bye, this.destOf(call, role), {
          onFinal: () => report(true),
          onTimeout: () => {
            this.log.info('BYE not answered', { sid: call.sid, leg: role });
            report(false);
          },
          onTransportError: (e) => {
            this.log.info('BYE transport error', { sid: call.sid, leg: role, error: e });
            report(false);
          },
        });
      },
      (tries) => this.log.warn('BYE never answered; the peer may keep its half of the call', { sid: call.sid, leg: role, tries }),
    );
  }

  /** End an answered call: BYE the given legs, release media. */
  hangup(call: Call, reason: string, byeTo: LegRole[]): void {
    if (call.state === 'ended') return;
    this.log.info('hangup', { sid: call.sid, reason, byeTo });
    call.state = 'ending';
    for (const role of byeTo) this.sendBye(call, role);
    this.b2bua.finish(call, reason);
  }
}
