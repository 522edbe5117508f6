/**
 * The transaction layer (RFC 3261 §17): owns every live client and server
 * transaction, matches incoming messages to them by key (one Map lookup,
 * §17.1.3 / §17.2.3), handles CANCEL (§9.2) and bounds how many may live.
 */
import { MeshError } from '../../../regions/core/errors.js';
import { createResponse, generateTag, getTag, ownString, parseCSeq, parseVia } from '../message/index.js';
import type { CSeq, Endpoint, SipRequest, SipResponse, Via } from '../message/types.js';
import {
  newTransactionCounters,
  type AckWaiter,
  type TransactionBase,
  type TransactionCounters,
  type TransactionHost,
} from './base.js';
import { InviteClientTransaction } from './invite-client.js';
import { InviteServerTransaction } from './invite-server.js';
import { LingerQueue } from './linger-queue.js';
import { ackDialogKey, clientKey, serverKey } from './keys.js';
import { NonInviteClientTransaction } from './non-invite-client.js';
import { NonInviteServerTransaction } from './non-invite-server.js';
import { buildCancel } from './request-builders.js';
import { resolveTimers, type TimerOptions, type TimerValues } from './timers.js';
import type { ClientTransaction, ClientTransactionCallbacks, ServerTransaction, TransactionTransport } from './types.js';

export interface TransactionLayerOptions {
  timers?: TimerOptions;
  /**
   * Most active transactions (client + server; not those lingering after their final
   * response, see TransactionCounters.lingering). Default 50000; new requests beyond get 503.
   */
  maxTransactions?: number;
  /** Retry-After (seconds) on the 503 sent when full. Default 5. */
  overloadRetryAfter?: number;
}

/** The transaction user: whoever sits above (the stack facade, then the B2BUA). */
export interface TransactionUser {
  /** A new request. `tx` is null for an ACK to a 2xx (its own, response-less transaction). */
  onRequest(req: SipRequest, tx: ServerTransaction | null, source: Endpoint): void;
  /** An INVITE 2xx the TU has not been handed through `onFinal` (retransmission or fork). */
  onStray2xx(res: SipResponse, source: Endpoint): void;
}

type ClientTx = InviteClientTransaction | NonInviteClientTransaction;
type ServerTx = InviteServerTransaction | NonInviteServerTransaction;

/** A stateless refusal of a new INVITE (what the TU's gate answers instead of letting a transaction start). */
export interface InviteRefusal {
  status: number;
  reason: string;
  headers?: [string, string][];
}

/**
 * Asked for every new INVITE outside a dialog (no To tag) before any transaction
 * state exists; a refusal is answered statelessly (RFC 3261 §8.2.7 / §16.11 style):
 * one response, no 100 Trying, no timer G/H/I. A retransmitted INVITE is asked
 * again and answered again; its ACK matches nothing and reaches the TU as a
 * stray ACK (nothing owed). This is how an overloaded node sheds cheaply.
 */
export type InviteGate = (req: SipRequest, source: Endpoint) => InviteRefusal | undefined;

/** The parts of a request every matching rule needs, parsed once. */
interface RequestKeys {
  via: Via;
  topViaRaw: string;
  cseq: CSeq;
  callId: string;
  fromTag: string | undefined;
}

export class TransactionLayer implements TransactionHost {
  readonly counters: TransactionCounters = newTransactionCounters();
  readonly timers: TimerValues;
  private readonly clients = new Map<string, ClientTx>();
  private readonly servers = new Map<string, ServerTx>();
  private readonly ackWaiters = new Map<string, AckWaiter>();
  /** Transactions past their final response, ended by one timer (linger-queue.ts). */
  private readonly lingering = new LingerQueue();
  private readonly maxTransactions: number;
  private readonly overloadRetryAfter: number;
  private inviteGate: InviteGate | undefined;
  private closed = false;

  constructor(
    readonly transport: TransactionTransport,
    private readonly tu: TransactionUser,
    opts: TransactionLayerOptions = {},
  ) {
    this.timers = resolveTimers(opts.timers);
    this.maxTransactions = opts.maxTransactions ?? 50000;
    this.overloadRetryAfter = opts.overloadRetryAfter ?? 5;
  }

  get size(): number {
    return this.clients.size + this.servers.size;
  }

  /** Transactions still working (not merely lingering after their final response): what maxTransactions bounds. */
  get activeSize(): number {
    return this.size - this.counters.lingering;
  }

  /** Set (or clear) the gate new out-of-dialog INVITEs pass before a transaction starts. */
  setInviteGate(gate: InviteGate | undefined): void {
    this.inviteGate = gate;
  }

  // ---- client side -------------------------------------------------------

  /**
   * Start a client transaction. The request must already carry our top Via
   * with a fresh magic-cookie branch (the stack adds it).
   * Throws MeshError CLOSED after close(), SERVICE_UNAVAILABLE when full,
   * BAD_REQUEST when the request has no usable Via branch or CSeq.
   */
  sendRequest(req: SipRequest, dest: Endpoint, cb: ClientTransactionCallbacks): ClientTransaction {
    if (this.closed) throw new MeshError('CLOSED', 'transaction layer is closed');
    if (req.method === 'ACK') throw new MeshError('BAD_REQUEST', 'ACK is not sent in a client transaction');
    if (this.activeSize >= this.maxTransactions) {
      throw new MeshError('SERVICE_UNAVAILABLE', 'too many live transactions', {
        detail: { limit: this.maxTransactions },
      });
    }
    const branch = this.topBranch(req);
    const key = clientKey(branch, req.method);
    if (this.clients.has(key)) throw new MeshError('BAD_REQUEST', 'branch already in use by a live transaction');
    const tx =
      req.method === 'INVITE'
        ? new InviteClientTransaction(key, this, req, dest, cb)
        : new NonInviteClientTransaction(key, this, req, dest, cb);
    this.clients.set(key, tx);
    this.counters.clientTransactions = this.clients.size;
    tx.start();
    return tx;
  }

  /**
   * CANCEL a pending INVITE (RFC 3261 §9.1): sent once a provisional arrived
   * (queued until then), never after a final. The CANCEL runs in its own
   * non-INVITE client transaction to the same destination; its outcome does
   * not matter to the TU, which learns the INVITE's fate from the INVITE (487).
   * Returns false when the INVITE is already past cancelling.
   */
  cancel(tx: ClientTransaction): boolean {
    if (this.closed || !(tx instanceof InviteClientTransaction)) return false;
    return tx.requestCancel(() => {
      if (this.closed || tx.isTerminated) return;
      const cancelReq = buildCancel(tx.request);
      const key = clientKey(this.topBranch(cancelReq), 'CANCEL');
      if (this.clients.has(key)) return;
      const ctx = new NonInviteClientTransaction(key, this, cancelReq, tx.destination, {
        onFinal: () => undefined,
        onTimeout: () => undefined,
        onTransportError: () => undefined,
      });
      this.clients.set(key, ctx);
      this.counters.clientTransactions = this.clients.size;
      ctx.start();
      tx.startCancelTimer();
    });
  }

  /** §17.1.3: response → client transaction by top-Via branch + CSeq method. */
  receiveResponse(res: SipResponse, source: Endpoint): void {
    if (this.closed) return;
    let branch: string | null | undefined;
    let cseq: CSeq;
    try {
      const top = res.headers.getList('Via')[0];
      if (top === undefined) throw new MeshError('BAD_REQUEST', 'no Via');
      branch = parseVia(top).params.get('branch');
      cseq = parseCSeq(res.headers.get('CSeq') ?? '');
    } catch {
      this.counters.strayResponses++;
      return;
    }
    const tx = typeof branch === 'string' ? this.clients.get(clientKey(branch, cseq.method)) : undefined;
    if (tx !== undefined) {
      tx.receive(res, source);
      return;
    }
    if (cseq.method === 'INVITE' && res.status >= 200 && res.status < 300) {
      // §13.2.2.4 / RFC 6026: the transaction is gone but the UAC core must still ACK.
      this.retransmitted2xx(res, source);
      return;
    }
    this.counters.strayResponses++;
  }

  // ---- server side -------------------------------------------------------

  /** §17.2.3: request → server transaction; new transactions go to the TU. */
  receiveRequest(req: SipRequest, source: Endpoint): void {
    if (this.closed) return;
    const k = this.requestKeys(req);
    if (k === undefined) return; // the transport validated Via/CSeq; nothing sensible to answer
    const key = serverKey(k.via, k.topViaRaw, req.method, k.cseq, req.uri, k.callId, k.fromTag);
    const existing = this.servers.get(key);

    if (req.method === 'ACK') {
      if (existing instanceof InviteServerTransaction && !existing.receiveAck(req)) return; // non-2xx ACK, absorbed
      // ACK to a 2xx: a new branch, so find the INVITE by dialog (§13.3.1.4).
      this.ackWaiters.get(ackDialogKey(k.callId, k.cseq.seq, k.fromTag))?.ack2xxReceived();
      this.deliver(req, null, source);
      return;
    }

    if (existing !== undefined) {
      existing.receiveRetransmission(req);
      return;
    }

    // CANCEL is let through even when full: it is how transactions get released.
    if (req.method === 'CANCEL') {
      this.receiveCancel(req, source, key, k);
      return;
    }

    if (req.method === 'INVITE' && this.inviteGate !== undefined && getTag(req.headers.get('To') ?? '') === undefined) {
      let refusal: InviteRefusal | undefined;
      try {
        refusal = this.inviteGate(req, source);
      } catch {
        this.counters.tuErrors++; // a broken gate admits: the TU's own checks still run
      }
      if (refusal !== undefined) {
        this.counters.refusedStateless++;
        this.respondStateless(req, source, refusal.status, refusal.reason, refusal.headers);
        return;
      }
    }

    if (this.activeSize >= this.maxTransactions) {
      this.counters.rejectedOverload++;
      this.respondStateless(req, source, 503, 'Service Unavailable', [['Retry-After', String(this.overloadRetryAfter)]]);
      return;
    }

    // The key lives as long as the transaction (up to 64*T1): a copy, so its branch
    // and sent-by do not pin the request's text (own-string.ts).
    const owned = ownString(key);
    const tx =
      req.method === 'INVITE'
        ? new InviteServerTransaction(owned, this, req, source, ownString(ackDialogKey(k.callId, k.cseq.seq, k.fromTag)))
        : new NonInviteServerTransaction(owned, this, req, source);
    this.servers.set(owned, tx);
    this.counters.serverTransactions = this.servers.size;
    tx.start();
    this.deliver(req, tx, source);
  }

  /**
   * RFC 3261 §9.2: CANCEL is its own non-INVITE transaction (so its
   * retransmissions get the same answer); it is answered here, 200 when the
   * INVITE transaction exists and 481 otherwise, and never reaches onRequest.
   */
  private receiveCancel(req: SipRequest, source: Endpoint, key: string, k: RequestKeys): void {
    this.counters.cancelsReceived++;
    const owned = ownString(key);
    const ctx = new NonInviteServerTransaction(owned, this, req, source);
    this.servers.set(owned, ctx);
    this.counters.serverTransactions = this.servers.size;
    ctx.start();
    const inviteKey = serverKey(k.via, k.topViaRaw, req.method, k.cseq, req.uri, k.callId, k.fromTag, 'INVITE');
    const invite = this.servers.get(inviteKey);
    if (!(invite instanceof InviteServerTransaction)) {
      this.counters.noMatch481++;
      ctx.respond(createResponse(req, 481, 'Call/Transaction Does Not Exist', { toTag: generateTag() }));
      return;
    }
    // §9.2: the 200 to the CANCEL carries the same To tag as the INVITE's responses.
    ctx.respond(createResponse(req, 200, 'OK', { toTag: invite.toTag ?? generateTag() }));
    invite.cancel();
  }

  /** A response sent outside any transaction (overload, unmatched). Needs a To tag when final (§8.2.6.2). */
  private respondStateless(
    req: SipRequest,
    source: Endpoint,
    status: number,
    reason: string,
    headers: [string, string][] = [],
  ): void {
    const hasTag = getTag(req.headers.get('To') ?? '') !== undefined;
    const res = createResponse(req, status, reason, hasTag ? { headers } : { toTag: generateTag(), headers });
    this.transport.sendResponse(res, source);
  }

  private requestKeys(req: SipRequest): RequestKeys | undefined {
    try {
      const topViaRaw = req.headers.getList('Via')[0];
      const cseqRaw = req.headers.get('CSeq');
      const callId = req.headers.get('Call-ID');
      if (topViaRaw === undefined || cseqRaw === undefined || callId === undefined) return undefined;
      return {
        via: parseVia(topViaRaw),
        topViaRaw,
        cseq: parseCSeq(cseqRaw),
        callId,
        fromTag: getTag(req.headers.get('From') ?? ''),
      };
    } catch {
      return undefined;
    }
  }

  private deliver(req: SipRequest, tx: ServerTransaction | null, source: Endpoint): void {
    try {
      this.tu.onRequest(req, tx, source);
    } catch {
      this.counters.tuErrors++;
    }
  }

  private topBranch(req: SipRequest): string {
    const top = req.headers.getList('Via')[0];
    const branch = top === undefined ? undefined : parseVia(top).params.get('branch');
    if (typeof branch !== 'string' || branch.length === 0) {
      throw new MeshError('BAD_REQUEST', 'request has no top Via with a branch');
    }
    return branch;
  }

  // ---- TransactionHost ---------------------------------------------------

  removeTransaction(tx: TransactionBase<string>): void {
    if (this.clients.get(tx.key) === tx) {
      this.clients.delete(tx.key);
      this.counters.clientTransactions = this.clients.size;
    } else if (this.servers.get(tx.key) === tx) {
      this.servers.delete(tx.key);
      this.counters.serverTransactions = this.servers.size;
    }
  }

  retransmitted2xx(res: SipResponse, source: Endpoint): void {
    this.counters.stray2xx++;
    try {
      this.tu.onStray2xx(res, source);
    } catch {
      this.counters.tuErrors++;
    }
  }

  endAfter(tx: TransactionBase<string>, ms: number): void {
    this.lingering.add(tx, ms);
  }

  setAckWaiter(key: string, tx: AckWaiter, active: boolean): void {
    if (active) this.ackWaiters.set(key, tx);
    else if (this.ackWaiters.get(key) === tx) this.ackWaiters.delete(key);
  }

  /** Terminate every transaction and clear every timer; TUs still waiting get a CLOSED error. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const err = new MeshError('CLOSED', 'transaction layer closed');
    for (const tx of [...this.clients.values()]) tx.abort(err);
    for (const tx of [...this.servers.values()]) tx.terminate();
    this.clients.clear();
    this.servers.clear();
    this.ackWaiters.clear();
    this.lingering.clear();
    this.counters.clientTransactions = 0;
    this.counters.serverTransactions = 0;
  }
}
