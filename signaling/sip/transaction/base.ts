/**
 * What every transaction shares: its key, its timers, the way it reaches the
 * layer that owns it, and a termination that happens exactly once.
 */
import { SipHeaders } from '../message/headers.js';
import type { Endpoint, SipRequest, SipResponse } from '../message/types.js';
import type { TimerValues } from './timers.js';
import { TimerSlots } from './timers.js';
import type { ClientTransactionCallbacks, TransactionTransport } from './types.js';

/** Plain counters of the transaction layer (live gauges and event totals). */
export interface TransactionCounters {
  clientTransactions: number;
  serverTransactions: number;
  retransmissions: number;
  timeouts: number;
  /** New requests answered 503 because `maxTransactions` was reached. */
  rejectedOverload: number;
  /** Responses that matched no client transaction (and were not an INVITE 2xx). */
  strayResponses: number;
  /** INVITE 2xx that matched no client transaction, or arrived again in Accepted. */
  stray2xx: number;
  cancelsReceived: number;
  /** Requests answered 481 because nothing matched (CANCEL). */
  noMatch481: number;
  /** Our INVITE 2xx got no ACK within 64*T1 (RFC 3261 §13.3.1.4). */
  ackTimeouts: number;
  /** TU responses that arrived after the transaction could no longer send them. */
  lateResponses: number;
  /** Server transactions the TU never answered, dropped after 64*T1. */
  orphaned: number;
  /** INVITE server transactions now waiting for their final response (Proceeding): a gauge, the INVITEs in flight (admission control). */
  invitesProceeding: number;
  /** Exceptions thrown by TU callbacks (caught so they cannot break a state machine). */
  tuErrors: number;
  /**
   * Transactions past their final response that live on only to absorb or answer
   * retransmissions (Timers D, I, J, K, L, M: up to 64*T1): a gauge. They cost a
   * Map entry and a timer, not work, so the limit on live transactions leaves them out.
   */
  lingering: number;
  /** New INVITEs the TU's gate refused statelessly (no transaction, no timer: layer.ts setInviteGate). */
  refusedStateless: number;
}

export function newTransactionCounters(): TransactionCounters {
  return {
    clientTransactions: 0,
    serverTransactions: 0,
    retransmissions: 0,
    timeouts: 0,
    rejectedOverload: 0,
    strayResponses: 0,
    stray2xx: 0,
    cancelsReceived: 0,
    noMatch481: 0,
    ackTimeouts: 0,
    lateResponses: 0,
    orphaned: 0,
    invitesProceeding: 0,
    tuErrors: 0,
    lingering: 0,
    refusedStateless: 0,
  };
}

/** The layer as its transactions see it. */
export interface TransactionHost {
  readonly transport: TransactionTransport;
  readonly timers: TimerValues;
  readonly counters: TransactionCounters;
  removeTransaction(tx: TransactionBase<string>): void;
  /** A 2xx reached an INVITE client transaction that already passed one up (RFC 6026 Accepted). */
  retransmitted2xx(res: SipResponse, source: Endpoint): void;
  /** Index an INVITE server transaction so the ACK to its 2xx (new branch) can find it. */
  setAckWaiter(key: string, tx: AckWaiter, active: boolean): void;
  /** Terminate `tx` `ms` from now, unless it ended before (linger-queue.ts: one timer for all). */
  endAfter(tx: TransactionBase<string>, ms: number): void;
}

/** An INVITE server transaction waiting for the ACK to its 2xx. */
export interface AckWaiter {
  /** The ACK arrived: stop retransmitting the 2xx. */
  ack2xxReceived(): void;
}

/**
 * What a lingering transaction keeps in place of its request once nothing can use it
 * any more (it only absorbs or answers retransmissions): the method, an empty rest.
 * A request with SDP is kilobytes of strings and header maps held 32 s per call;
 * this keeps the heap, and the major GCs that scan it, small.
 */
export function releasedRequest(req: SipRequest): SipRequest {
  return { type: 'request', method: req.method, uri: '', version: req.version, headers: RELEASED_HEADERS, body: EMPTY_BODY };
}
const EMPTY_BODY = Buffer.alloc(0);
/** Shared by every released request: nothing reads or writes a released request's headers. */
const RELEASED_HEADERS = new SipHeaders();

/** What a client transaction keeps in place of the TU's callbacks once its final response was delivered. */
export const RELEASED_CALLBACKS: ClientTransactionCallbacks = { onFinal: () => undefined, onTimeout: () => undefined, onTransportError: () => undefined };

export abstract class TransactionBase<K extends string> {
  onTerminated: (() => void) | undefined = undefined;
  protected readonly timers = new TimerSlots<K>();
  protected isOver = false;
  private isLingering = false;

  constructor(
    readonly key: string,
    protected readonly host: TransactionHost,
    /** TCP: no retransmissions, zero-length wait timers (RFC 3261 §17). */
    protected readonly reliable: boolean,
  ) {}

  get isTerminated(): boolean {
    return this.isOver;
  }

  /** Terminate now: clear every timer, leave the layer's maps, tell the TU once. */
  terminate(): void {
    if (this.isOver) return;
    this.isOver = true;
    if (this.isLingering) this.host.counters.lingering--;
    this.enterTerminated();
    this.timers.clearAll();
    this.host.removeTransaction(this);
    this.callTu(this.onTerminated);
  }

  protected abstract enterTerminated(): void;

  /** The final response was sent or received: from now on the transaction only lingers (counted once). */
  protected linger(): void {
    if (this.isLingering || this.isOver) return;
    this.isLingering = true;
    this.host.counters.lingering++;
  }

  /** Run a TU callback; a throwing TU must not break the state machine. */
  protected callTu<A extends unknown[]>(fn: ((...a: A) => void) | undefined, ...args: A): void {
    if (fn === undefined) return;
    try {
      fn(...args);
    } catch {
      this.host.counters.tuErrors++;
    }
  }
}
