/**
 * Non-INVITE server transaction (RFC 3261 §17.2.2).
 *
 *   Trying --1xx--> Proceeding --final--> Completed --Timer J--> Terminated
 *     \______________final_____________/
 */
import type { Endpoint, SipRequest, SipResponse } from '../message/types.js';
import { releasedRequest, TransactionBase, type TransactionHost } from './base.js';
import { keepSent, type SentMessage, type ServerState, type ServerTransaction } from './types.js';

type Timer = 'orphan';

export class NonInviteServerTransaction extends TransactionBase<Timer> implements ServerTransaction {
  state: ServerState = 'Trying';
  readonly isCancelled = false;
  private lastResponse: SipResponse | undefined;
  /** The final response's bytes over UDP: all that Completed resends, for 64*T1 (Timer J). */
  private lastSent: SentMessage | undefined;

  constructor(
    key: string,
    host: TransactionHost,
    public request: SipRequest,
    readonly source: Endpoint,
  ) {
    super(key, host, source.transport === 'TCP');
  }

  get method(): string {
    return this.request.method;
  }

  start(): void {
    // The client gives up after 64*T1 (Timer F); a TU that has not answered by
    // then never will usefully, so the transaction must not live on forever.
    this.timers.set('orphan', this.host.timers.t64, () => {
      this.host.counters.orphaned++;
      this.terminate();
    });
  }

  respond(res: SipResponse): void {
    if (this.state !== 'Trying' && this.state !== 'Proceeding') {
      this.host.counters.lateResponses++;
      return;
    }
    this.lastResponse = res;
    const sent = this.host.transport.sendResponse(res, this.source, () => this.terminate());
    if (res.status < 200) {
      this.state = 'Proceeding';
      return;
    }
    this.state = 'Completed';
    this.linger();
    this.timers.clear('orphan');
    // Only the response is resent from here on: keep its bytes when the transport gave them.
    this.request = releasedRequest(this.request);
    if (sent !== undefined) {
      this.lastSent = keepSent(sent);
      this.lastResponse = undefined;
    }
    // Timer J: 64*T1 on unreliable transports, zero on reliable ones; a BYE's may be
    // shorter (timers.ts `linger`): the ended call's leg answers its late retransmissions.
    if (this.reliable) this.terminate();
    else this.host.endAfter(this, this.request.method === 'BYE' ? this.host.timers.linger : this.host.timers.t64);
  }

  /** A retransmitted request: nothing in Trying, resend the last response otherwise (§17.2.2). */
  receiveRetransmission(_req: SipRequest): void {
    if (this.state === 'Trying') return;
    const onError = (): void => this.terminate();
    if (this.lastSent !== undefined) this.host.transport.resend(this.lastSent, onError);
    else if (this.lastResponse !== undefined) this.host.transport.sendResponse(this.lastResponse, this.source, onError);
    else return;
    this.host.counters.retransmissions++;
  }

  onCancel(_cb: () => void): void {
    // Only INVITE can be cancelled (RFC 3261 §9.2); a CANCEL for anything else just gets its 200.
  }

  onAckTimeout(_cb: () => void): void {
    // Only a 2xx to an INVITE waits for an ACK.
  }

  protected enterTerminated(): void {
    this.state = 'Terminated';
  }
}
