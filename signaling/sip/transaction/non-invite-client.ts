/**
 * Non-INVITE client transaction (RFC 3261 §17.1.2).
 *
 *   Trying --1xx--> Proceeding --final--> Completed --Timer K--> Terminated
 *     \______________final_____________/
 */
import type { Endpoint, SipRequest, SipResponse } from '../message/types.js';
import { RELEASED_CALLBACKS, releasedRequest, TransactionBase, type TransactionHost } from './base.js';
import type { ClientState, ClientTransaction, ClientTransactionCallbacks } from './types.js';

type Timer = 'E' | 'F';

export class NonInviteClientTransaction extends TransactionBase<Timer> implements ClientTransaction {
  state: ClientState = 'Trying';
  hasProvisional = false;
  private intervalE: number;

  constructor(
    key: string,
    host: TransactionHost,
    public request: SipRequest,
    readonly destination: Endpoint,
    private cb: ClientTransactionCallbacks,
  ) {
    super(key, host, destination.transport === 'TCP');
    this.intervalE = host.timers.t1;
  }

  get method(): string {
    return this.request.method;
  }

  start(): void {
    this.send();
    if (!this.reliable) this.timers.set('E', this.intervalE, () => this.onTimerE());
    this.timers.set('F', this.host.timers.t64, () => this.onTimerF());
  }

  private send(): void {
    this.host.transport.sendRequest(this.request, this.destination, (e) => this.onTransportError(e));
  }

  private onTimerE(): void {
    if (this.state !== 'Trying' && this.state !== 'Proceeding') return;
    this.host.counters.retransmissions++;
    this.send();
    // Trying: double up to T2; Proceeding: every T2 (§17.1.2.2).
    const { t2 } = this.host.timers;
    this.intervalE = this.state === 'Trying' ? Math.min(2 * this.intervalE, t2) : t2;
    this.timers.set('E', this.intervalE, () => this.onTimerE());
  }

  private onTimerF(): void {
    if (this.state !== 'Trying' && this.state !== 'Proceeding') return;
    this.host.counters.timeouts++;
    this.callTu(this.cb.onTimeout);
    this.terminate();
  }

  private onTransportError(e: Error): void {
    if (this.isOver) return;
    if (this.state === 'Trying' || this.state === 'Proceeding') this.callTu(this.cb.onTransportError, e);
    this.terminate();
  }

  receive(res: SipResponse, _source: Endpoint): void {
    if (this.state !== 'Trying' && this.state !== 'Proceeding') return; // Completed absorbs retransmissions
    if (res.status < 200) {
      this.state = 'Proceeding';
      this.hasProvisional = true;
      this.callTu(this.cb.onProvisional, res);
      return;
    }
    this.state = 'Completed';
    this.linger();
    this.timers.clear('E');
    this.timers.clear('F');
    this.callTu(this.cb.onFinal, res);
    // Lingering (Timer K) only absorbs retransmitted responses: keep neither the callbacks nor the request.
    this.cb = RELEASED_CALLBACKS;
    this.request = releasedRequest(this.request);
    // Timer K: T4 on unreliable transports, zero on reliable ones (§17.1.2.2).
    if (this.reliable) this.terminate();
    else this.host.endAfter(this, this.host.timers.t4);
  }

  protected enterTerminated(): void {
    this.state = 'Terminated';
  }

  abort(e: Error): void {
    if (this.isOver) return;
    if (this.state === 'Trying' || this.state === 'Proceeding') this.callTu(this.cb.onTransportError, e);
    this.terminate();
  }
}
