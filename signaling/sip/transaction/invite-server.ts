/**
 * INVITE server transaction: RFC 3261 §17.2.1 with the RFC 6026 Accepted
 * state, plus the UAS-core 2xx retransmission of §13.3.1.4 (we are a B2BUA,
 * so every 2xx we send is ours to retransmit until the ACK arrives).
 *
 *   Proceeding --2xx--> Accepted (2xx resent T1..T2 until ACK) --Timer L--> Terminated
 *       |
 *       +--300-699--> Completed (Timer G resends) --ACK--> Confirmed --Timer I--> Terminated
 *                         \--Timer H--> Terminated
 */
import { createResponse, generateTag, getTag } from '../message/index.js';
import type { Endpoint, SipRequest, SipResponse } from '../message/types.js';
import { releasedRequest, TransactionBase, type AckWaiter, type TransactionHost } from './base.js';
import { keepSent, type SentMessage, type ServerState, type ServerTransaction } from './types.js';

type Timer = 'G' | 'H' | 'L' | 'retx2xx' | 'orphan' | 'trying';

export class InviteServerTransaction extends TransactionBase<Timer> implements ServerTransaction, AckWaiter {
  state: ServerState = 'Proceeding';
  readonly method = 'INVITE';
  isCancelled = false;
  private ackTimeoutHandler: (() => void) | undefined;
  /** The To tag the TU put on its responses; reused for the 200 to a CANCEL (§9.2). */
  toTag: string | undefined;
  private lastResponse: SipResponse | undefined;
  /** What `send` last put on the wire over UDP: retransmissions resend these bytes. */
  private lastSent: SentMessage | undefined;
  private readonly cancelHandlers: (() => void)[] = [];
  private intervalG: number;
  private awaitingAck = false;

  constructor(
    key: string,
    host: TransactionHost,
    public request: SipRequest,
    readonly source: Endpoint,
    /** Dialog key the ACK to a 2xx will carry (see keys.ts ackDialogKey). */
    private readonly ackKey: string,
  ) {
    super(key, host, source.transport === 'TCP');
    this.intervalG = host.timers.t1;
    host.counters.invitesProceeding++;
  }

  /** Called before every move out of Proceeding: keeps the in-flight gauge exact. */
  private leaveProceeding(): void {
    if (this.state === 'Proceeding') this.host.counters.invitesProceeding--;
  }

  /**
   * §17.2.1: 100 Trying goes out only when the TU has sent no provisional or final
   * within 200 ms. A B2BUA whose callee rings at once thus saves a datagram per call;
   * a retransmitted INVITE before then gets the 100 at once (see resendLast).
   */
  start(): void {
    const sendTrying = (): void => {
      if (this.lastResponse === undefined && this.state === 'Proceeding') this.send(createResponse(this.request, 100, 'Trying'));
    };
    if (this.host.timers.trying <= 0) sendTrying();
    else this.timers.set('trying', this.host.timers.trying, sendTrying);
    // A TU that never answers must not pin the transaction forever: after the
    // longest a client waits in Proceeding (Timer C) plus 64*T1, answer 408.
    this.timers.set('orphan', this.host.timers.timerC + this.host.timers.t64, () => {
      if (this.state !== 'Proceeding') return;
      this.host.counters.orphaned++;
      this.respond(createResponse(this.request, 408, 'Request Timeout', { toTag: this.toTag ?? generateTag() }));
    });
  }

  private send(res: SipResponse): void {
    this.lastResponse = res;
    this.lastSent = this.host.transport.sendResponse(res, this.source, () => this.onTransportError());
  }

  private resendLast(): void {
    if (this.lastSent !== undefined) {
      this.host.counters.retransmissions++;
      this.host.transport.resend(this.lastSent, () => this.onTransportError());
      return;
    }
    if (this.lastResponse === undefined) {
      // Retransmitted INVITE before the TU said anything: stop the retransmissions now.
      if (this.state === 'Proceeding') this.send(createResponse(this.request, 100, 'Trying'));
      return;
    }
    this.host.counters.retransmissions++;
    this.host.transport.sendResponse(this.lastResponse, this.source, () => this.onTransportError());
  }

  private onTransportError(): void {
    // §17.2.4: the response could not be delivered; nothing more this transaction can do.
    this.terminate();
  }

  respond(res: SipResponse): void {
    const s = res.status;
    if (this.state === 'Proceeding') {
      const tag = getTag(res.headers.get('To') ?? '');
      if (tag !== undefined) this.toTag = tag;
      if (s < 200) {
        this.send(res);
      } else if (s < 300) {
        this.enterAccepted(res);
      } else {
        this.enterCompleted(res);
      }
      return;
    }
    if (this.state === 'Accepted' && s >= 200 && s < 300) {
      // RFC 6026 §8.5: further 2xx from the TU are sent; retransmit the newest.
      this.send(res);
      return;
    }
    this.host.counters.lateResponses++;
  }

  private enterAccepted(res: SipResponse): void {
    this.leaveProceeding();
    this.state = 'Accepted';
    this.linger();
    this.timers.clear('orphan');
    this.send(res);
    // §13.3.1.4: retransmit the 2xx, T1 doubling to T2, on every transport, until the ACK.
    this.awaitingAck = true;
    this.host.setAckWaiter(this.ackKey, this, true);
    this.intervalG = this.host.timers.t1;
    this.timers.set('retx2xx', this.intervalG, () => this.retransmit2xx());
    // Timer L (RFC 6026): absorb INVITE retransmissions for 64*T1, which is also
    // when §13.3.1.4 gives up on the ACK.
    this.timers.set('L', this.host.timers.t64, () => {
      if (this.awaitingAck) {
        this.awaitingAck = false;
        this.host.counters.ackTimeouts++;
        this.callTu(this.ackTimeoutHandler);
      }
      this.terminate();
    });
  }

  private retransmit2xx(): void {
    if (!this.awaitingAck) return;
    this.resendLast();
    this.intervalG = Math.min(2 * this.intervalG, this.host.timers.t2);
    this.timers.set('retx2xx', this.intervalG, () => this.retransmit2xx());
  }

  ack2xxReceived(): void {
    if (!this.awaitingAck) return;
    this.awaitingAck = false;
    this.timers.clear('retx2xx');
    this.host.setAckWaiter(this.ackKey, this, false);
    // The transaction lives on (Timer L) only to absorb INVITE retransmissions (RFC 6026 §8.7):
    // nothing will send the 2xx again, fire the ACK timeout or cancel, so let the GC have them.
    this.lastResponse = undefined;
    this.lastSent = undefined;
    this.ackTimeoutHandler = undefined;
    this.cancelHandlers.length = 0;
    this.request = releasedRequest(this.request);
    // A shorter linger (timers.ts) now that the ACK is in: the UAC retransmits no INVITE after a 2xx.
    if (this.host.timers.linger < this.host.timers.t64) {
      this.timers.clear('L');
      this.host.endAfter(this, this.host.timers.linger);
    }
  }

  private enterCompleted(res: SipResponse): void {
    this.leaveProceeding();
    this.state = 'Completed';
    this.linger();
    this.timers.clear('orphan');
    this.send(res);
    // From here only the response is resent (its bytes, over UDP); nothing builds from the request again.
    if (this.lastSent !== undefined) {
      this.lastSent = keepSent(this.lastSent);
      this.lastResponse = undefined;
    }
    this.request = releasedRequest(this.request);
    this.cancelHandlers.length = 0;
    this.ackTimeoutHandler = undefined;
    if (!this.reliable) this.timers.set('G', this.intervalG, () => this.onTimerG());
    this.timers.set('H', this.host.timers.t64, () => {
      // No ACK for our non-2xx final (§17.2.1): give up.
      this.host.counters.timeouts++;
      this.terminate();
    });
  }

  private onTimerG(): void {
    if (this.state !== 'Completed') return;
    this.resendLast();
    this.intervalG = Math.min(2 * this.intervalG, this.host.timers.t2);
    this.timers.set('G', this.intervalG, () => this.onTimerG());
  }

  /** A retransmitted INVITE (§17.2.1): resend the latest response, except in Accepted (RFC 6026 §8.7). */
  receiveRetransmission(_req: SipRequest): void {
    if (this.state === 'Proceeding' || this.state === 'Completed') this.resendLast();
  }

  /**
   * An ACK matched this transaction by branch. Returns true when the ACK is
   * for a 2xx and must go to the TU; false when the transaction absorbs it.
   */
  receiveAck(_ack: SipRequest): boolean {
    switch (this.state) {
      case 'Completed':
        this.state = 'Confirmed';
        this.timers.clear('G');
        this.timers.clear('H');
        // Timer I: T4 on unreliable transports, zero on reliable ones.
        if (this.reliable) this.terminate();
        else this.host.endAfter(this, this.host.timers.t4);
        return false;
      case 'Accepted':
        // RFC 6026 §8.7: an ACK in Accepted goes to the TU.
        this.ack2xxReceived();
        return true;
      case 'Proceeding':
        // ACK before any final response is meaningless; absorb it.
        return false;
      default:
        return false;
    }
  }

  onCancel(cb: () => void): void {
    this.cancelHandlers.push(cb);
  }

  onAckTimeout(cb: () => void): void {
    this.ackTimeoutHandler = cb;
  }

  /**
   * A CANCEL matched this INVITE (§9.2). The layer already answered the CANCEL.
   * Only a transaction still waiting for its final response is affected; if the
   * TU registered no handler we answer 487 ourselves so the INVITE is not left hanging.
   */
  cancel(): void {
    if (this.state !== 'Proceeding' || this.isCancelled) return;
    this.isCancelled = true;
    if (this.cancelHandlers.length === 0) {
      this.respond(createResponse(this.request, 487, 'Request Terminated', { toTag: this.toTag ?? generateTag() }));
      return;
    }
    for (const h of this.cancelHandlers) this.callTu(h);
  }

  protected enterTerminated(): void {
    this.leaveProceeding();
    this.state = 'Terminated';
    if (this.awaitingAck) {
      this.awaitingAck = false;
      this.host.setAckWaiter(this.ackKey, this, false);
    }
  }
}
