/**
 * INVITE client transaction: RFC 3261 §17.1.1 with the RFC 6026 Accepted state.
 *
 *   Calling --1xx--> Proceeding --2xx--> Accepted --Timer M--> Terminated
 *      |                 |
 *      +----300-699------+--> Completed (ACK sent here) --Timer D--> Terminated
 */
import type { Endpoint, SipRequest, SipResponse } from '../message/types.js';
import { RELEASED_CALLBACKS, releasedRequest, TransactionBase, type TransactionHost } from './base.js';
import { buildNon2xxAck } from './request-builders.js';
import type { ClientState, ClientTransaction, ClientTransactionCallbacks } from './types.js';

type Timer = 'A' | 'B' | 'C' | 'cancel';

export class InviteClientTransaction extends TransactionBase<Timer> implements ClientTransaction {
  state: ClientState = 'Calling';
  hasProvisional = false;
  readonly method = 'INVITE';
  private ack: SipRequest | undefined;
  private intervalA: number;
  /** CANCEL asked for before any provisional arrived (§9.1: wait for one). */
  private pendingCancel: (() => void) | undefined;

  constructor(
    key: string,
    host: TransactionHost,
    public request: SipRequest,
    readonly destination: Endpoint,
    private cb: ClientTransactionCallbacks,
  ) {
    super(key, host, destination.transport === 'TCP');
    this.intervalA = host.timers.t1;
  }

  start(): void {
    this.send(this.request);
    // Timer A only on unreliable transports (§17.1.1.2); Timer B always.
    if (!this.reliable) this.timers.set('A', this.intervalA, () => this.onTimerA());
    this.timers.set('B', this.host.timers.t64, () => this.onTimerB());
  }

  private send(req: SipRequest): void {
    this.host.transport.sendRequest(req, this.destination, (e) => this.onTransportError(e));
  }

  private onTimerA(): void {
    if (this.state !== 'Calling') return;
    this.host.counters.retransmissions++;
    this.send(this.request);
    // Timer A doubles without the T2 cap (§17.1.1.2).
    this.intervalA *= 2;
    this.timers.set('A', this.intervalA, () => this.onTimerA());
  }

  private onTimerB(): void {
    if (this.state !== 'Calling') return;
    this.timeout();
  }

  private timeout(): void {
    this.host.counters.timeouts++;
    this.pendingCancel = undefined;
    this.callTu(this.cb.onTimeout);
    this.terminate();
  }

  private onTransportError(e: Error): void {
    if (this.isOver) return;
    // §17.1.4: inform the TU while it still waits for a final response.
    if (this.state === 'Calling' || this.state === 'Proceeding') this.callTu(this.cb.onTransportError, e);
    this.terminate();
  }

  receive(res: SipResponse, source: Endpoint): void {
    const s = res.status;
    switch (this.state) {
      case 'Calling':
      case 'Proceeding':
        if (s < 200) {
          this.enterProceeding();
          this.callTu(this.cb.onProvisional, res);
        } else if (s < 300) {
          this.enterAccepted();
          this.callTu(this.cb.onFinal, res);
          this.release();
        } else {
          this.enterCompleted(res);
          this.callTu(this.cb.onFinal, res);
          this.release();
          // Timer D is zero on reliable transports (§17.1.1.2).
          if (this.reliable) this.terminate();
        }
        return;
      case 'Completed':
        // A retransmitted final: our ACK was lost; resend it, do not pass up (§17.1.1.2).
        if (s >= 300 && this.ack !== undefined) {
          this.host.counters.retransmissions++;
          this.send(this.ack);
        }
        return;
      case 'Accepted':
        // RFC 6026 §7.2: further 2xx (retransmissions or forks) go to the TU, which ACKs them.
        if (s >= 200 && s < 300) this.host.retransmitted2xx(res, source);
        return;
      default:
        return;
    }
  }

  /**
   * The final response reached the TU: from now on nothing calls the TU (later 2xx go to the
   * stack's stray-2xx path) or builds from the request (the non-2xx ACK is built), so neither
   * is kept for the 32 s this transaction lingers. The callbacks close over the whole call.
   */
  private release(): void {
    this.cb = RELEASED_CALLBACKS;
    this.request = releasedRequest(this.request);
  }

  private enterProceeding(): void {
    const first = !this.hasProvisional;
    this.state = 'Proceeding';
    this.hasProvisional = true;
    this.timers.clear('A');
    this.timers.clear('B');
    // Bound the wait for a final response (see TimerOptions.timerC).
    this.timers.set('C', this.host.timers.timerC, () => {
      if (this.state === 'Proceeding') this.timeout();
    });
    if (first && this.pendingCancel !== undefined) {
      const send = this.pendingCancel;
      this.pendingCancel = undefined;
      send();
    }
  }

  private enterAccepted(): void {
    this.state = 'Accepted';
    this.linger();
    this.pendingCancel = undefined;
    this.clearWaitTimers();
    // Timer M may be shorter (timers.ts `linger`): a 2xx retransmitted later still gets its ACK from the stack.
    this.host.endAfter(this, this.host.timers.linger);
  }

  private enterCompleted(res: SipResponse): void {
    this.state = 'Completed';
    this.linger();
    this.pendingCancel = undefined;
    this.clearWaitTimers();
    // §17.1.1.3: the ACK for a non-2xx final belongs to this transaction.
    try {
      this.ack = buildNon2xxAck(this.request, res);
      this.send(this.ack);
    } catch {
      this.ack = undefined;
    }
    if (!this.reliable) this.host.endAfter(this, this.host.timers.timerD);
  }

  private clearWaitTimers(): void {
    this.timers.clear('A');
    this.timers.clear('B');
    this.timers.clear('C');
    this.timers.clear('cancel');
  }

  /**
   * Arrange for `sendCancel` to run per RFC 3261 §9.1: now if a provisional
   * arrived, later when one does, never if a final arrived. Returns false when
   * the transaction is past the point where a CANCEL makes sense.
   */
  requestCancel(sendCancel: () => void): boolean {
    if (this.state === 'Proceeding') {
      sendCancel();
      return true;
    }
    if (this.state === 'Calling') {
      this.pendingCancel = sendCancel;
      return true;
    }
    return false;
  }

  /**
   * After a CANCEL went out: if the INVITE gets no final response within
   * 64*T1, consider it cancelled and destroy it (RFC 3261 §9.1).
   */
  startCancelTimer(): void {
    this.timers.clear('C');
    this.timers.set('cancel', this.host.timers.t64, () => {
      if (this.state === 'Proceeding' || this.state === 'Calling') this.timeout();
    });
  }

  protected enterTerminated(): void {
    this.state = 'Terminated';
    this.pendingCancel = undefined;
  }

  /** Layer shutdown: a TU still waiting learns the request failed. */
  abort(e: Error): void {
    if (this.isOver) return;
    if (this.state === 'Calling' || this.state === 'Proceeding') this.callTu(this.cb.onTransportError, e);
    this.terminate();
  }
}
