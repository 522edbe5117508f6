/**
 * SipStack: the transport layer and the transaction layer behind one small
 * facade for the transaction user (the B2BUA). It adds our top Via to
 * outgoing requests, sends 2xx ACKs outside transactions (RFC 3261 §13.2.2.4)
 * and re-sends them by itself when a 2xx is retransmitted.
 */
import { MeshError } from '../../regions/core/errors.js';
import { generateBranch, getTag, parseCSeq } from './message/index.js';
import type { Endpoint, SipLimits, SipRequest, SipResponse, SipTransportName } from './message/types.js';
import { ExpiringMap } from './expiring-map.js';
import { TransactionLayer, type InviteGate } from './transaction/layer.js';
import type { TransactionCounters } from './transaction/base.js';
import type { TimerOptions, TimerValues } from './transaction/timers.js';
import { keepSent, type ClientTransaction, type ClientTransactionCallbacks, type SentMessage, type ServerTransaction } from './transaction/types.js';
import type { TcpOptions } from './transport/tcp-connections.js';
import { SipTransportLayer, type ConnectionListener, type TransportCounters, type WsConnectionInfo, type WsOptions } from './transport/transport-layer.js';
import { checkUasRequest, uasRejectionResponse } from './uas-checks.js';

export type { ClientTransaction, ClientTransactionCallbacks, ServerTransaction } from './transaction/types.js';
export type { InviteGate, InviteRefusal } from './transaction/layer.js';

export interface SipStackOptions {
  /** Local IP to bind; also our Via sent-by host. */
  address: string;
  /** UDP and TCP port (the same number). 0 picks a free one. */
  port: number;
  /** Default ['UDP', 'TCP']; may be empty when `websocket` is set. */
  transports?: ('UDP' | 'TCP')[];
  /** T1/T2/T4 (defaults 500/4000/5000 ms) and the derived timers. */
  timers?: TimerOptions;
  /** Message size limits. Default DEFAULT_SIP_LIMITS. */
  limits?: SipLimits;
  /** Active transactions (client + server, not those lingering after their final response). Default 50000; new requests beyond get 503. */
  maxTransactions?: number;
  /** TCP connection limits (count, connect timeout, idle close, write buffer). */
  tcp?: TcpOptions;
  /** Also serve SIP over WebSocket (RFC 7118) with these options (port default 5066, `wss` with tls). */
  websocket?: WsOptions;
  /** UDP receive buffer, bytes. Default 4 MiB (transport-layer.ts DEFAULT_UDP_RECEIVE_BUFFER_BYTES). */
  udpReceiveBufferBytes?: number;
}

/** Everything `SipStack.counters` reports: transport, transaction and stack counters. */
export interface SipStackCounters extends TransportCounters, TransactionCounters {
  /** 2xx retransmissions answered by re-sending our ACK (RFC 3261 §13.2.2.4). */
  ackResent: number;
  /** Requests that arrived while no onRequest handler was set. */
  unhandledRequests: number;
  /**
   * Requests the stack itself refused, by SIP status: the transport's
   * stateless answers to unparseable requests (400, 505, 513), the UAS
   * checks of RFC 3261 §8.2.2 (416, 420) and the transaction layer's 503
   * when full. Only statuses the stack produces appear, so the set is small.
   */
  rejected: Record<string, number>;
}

export type RequestHandler = (req: SipRequest, tx: ServerTransaction | null, source: Endpoint) => void;
export type Stray2xxHandler = (res: SipResponse, source: Endpoint) => void;

/**
 * An ACK we sent for a 2xx: over UDP its bytes (kept 64*T1 off the JS heap), on
 * other transports the message, serialized again if the 2xx comes back.
 */
type SentAck = SentMessage | { ack: SipRequest; dest: Endpoint };

export class SipStack {
  private requestHandler: RequestHandler | undefined;
  private stray2xxHandler: Stray2xxHandler | undefined;
  /** ACKs we sent for 2xx, by Call-ID|CSeq|To-tag, kept 64*T1 to answer 2xx retransmissions (one sweep timer, not one per ACK). */
  private readonly sentAcks: ExpiringMap<string, SentAck>;
  /** ACK objects that already carry our Via (a TU may hand the same ACK in again). */
  private readonly stampedAcks = new WeakSet<SipRequest>();
  private readonly maxSentAcks: number;
  private ackResent = 0;
  private unhandledRequests = 0;
  /** §8.2.2 refusals (uas-checks.ts), by status. */
  private readonly uasRejected: Record<string, number> = {};
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly transport: SipTransportLayer,
    private readonly layer: TransactionLayer,
    private readonly maxTransactions: number,
  ) {
    this.maxSentAcks = maxTransactions;
    this.sentAcks = new ExpiringMap(layer.timers.t64);
  }

  static async start(opts: SipStackOptions): Promise<SipStack> {
    const transport = await SipTransportLayer.start({
      address: opts.address,
      port: opts.port,
      ...(opts.transports ? { transports: opts.transports } : {}),
      ...(opts.limits ? { limits: opts.limits } : {}),
      ...(opts.tcp ? { tcp: opts.tcp } : {}),
      ...(opts.websocket ? { websocket: opts.websocket } : {}),
      ...(opts.udpReceiveBufferBytes !== undefined ? { udpReceiveBufferBytes: opts.udpReceiveBufferBytes } : {}),
    });
    const maxTransactions = opts.maxTransactions ?? 50000;
    let stack: SipStack | undefined;
    const layer = new TransactionLayer(
      transport,
      {
        onRequest: (req, tx, source) => stack?.dispatchRequest(req, tx, source),
        onStray2xx: (res, source) => stack?.dispatchStray2xx(res, source),
      },
      { maxTransactions, ...(opts.timers ? { timers: opts.timers } : {}) },
    );
    stack = new SipStack(transport, layer, maxTransactions);
    transport.setListener({
      onRequest: (req, source) => layer.receiveRequest(req, source),
      onResponse: (res, source) => layer.receiveResponse(res, source),
    });
    return stack;
  }

  /** New requests (with their server transaction) and ACKs for 2xx (tx null). */
  onRequest(handler: RequestHandler): void {
    this.requestHandler = handler;
  }

  /**
   * A 2xx to an INVITE that the stack could not re-ACK by itself: a fork's
   * 2xx, or a retransmission before the TU sent its ACK. The TU must ACK it
   * (RFC 3261 §13.2.2.4) and, for an unwanted fork, BYE it.
   */
  onStray2xx(handler: Stray2xxHandler): void {
    this.stray2xxHandler = handler;
  }

  /**
   * Send a request in a new client transaction. Adds our top Via (sent-by,
   * transport, fresh branch, rport) and Max-Forwards 70 when missing.
   * Throws MeshError CLOSED after close() and SERVICE_UNAVAILABLE when the
   * transaction limit is reached; network failures arrive on onTransportError.
   */
  sendRequest(req: SipRequest, dest: Endpoint, cb: ClientTransactionCallbacks): ClientTransaction {
    if (this.closing) throw new MeshError('CLOSED', 'SIP stack is closed');
    this.stampVia(req, dest);
    return this.layer.sendRequest(req, dest, cb);
  }

  /**
   * Send the ACK for a 2xx: its own transaction with no responses, so it
   * goes straight to the transport with a new branch (RFC 3261 §17.1.1.3,
   * §13.2.2.4). The stack re-sends it when the 2xx is retransmitted.
   */
  sendAck(ack: SipRequest, dest: Endpoint): void {
    if (this.closing) throw new MeshError('CLOSED', 'SIP stack is closed');
    if (!this.stampedAcks.has(ack)) {
      this.stampVia(ack, dest);
      this.stampedAcks.add(ack);
    }
    const sent = this.transport.sendRequest(ack, dest);
    const key = this.ackKey(ack);
    if (key === undefined) return;
    if (!this.sentAcks.has(key) && this.sentAcks.size >= this.maxSentAcks) return; // bounded: the TU will see retransmissions instead
    this.sentAcks.set(key, sent === undefined ? { ack, dest } : keepSent(sent));
  }

  /** CANCEL a pending INVITE (RFC 3261 §9.1); queued until a provisional arrives, dropped after a final. */
  cancel(tx: ClientTransaction): void {
    this.layer.cancel(tx);
  }

  /**
   * Refuse new out-of-dialog INVITEs statelessly, before any transaction exists
   * (transaction/layer.ts InviteGate): the cheap path for shedding load.
   */
  setInviteGate(gate: InviteGate | undefined): void {
    this.layer.setInviteGate(gate);
  }

  /** The transaction timers in force (T1, T2, T4, 64*T1, the linger, …), after clamping. */
  get timers(): Readonly<TimerValues> {
    return this.layer.timers;
  }

  /** INVITE server transactions waiting for their final response now (cheap: read per INVITE by admission control). */
  get invitesInFlight(): number {
    return this.layer.counters.invitesProceeding;
  }

  /** Transactions now: active (bounded by maxTransactions) and lingering after their final response. */
  get transactions(): { active: number; lingering: number; limit: number } {
    return { active: this.layer.activeSize, lingering: this.layer.counters.lingering, limit: this.maxTransactions };
  }

  /** Snapshot of transport, transaction and stack counters. */
  get counters(): Readonly<SipStackCounters> {
    const t = this.transport.counters;
    const rejected: Record<string, number> = { ...t.rejected };
    const add = (status: string, n: number): void => {
      if (n > 0) rejected[status] = (rejected[status] ?? 0) + n;
    };
    for (const [status, n] of Object.entries(this.uasRejected)) add(status, n);
    add('503', this.layer.counters.rejectedOverload);
    // Object.assign, not spreads followed by keys (test/unit/signaling/object-shapes.test.ts).
    return Object.assign({}, t, this.layer.counters, {
      droppedByReason: { ...t.droppedByReason },
      ackResent: this.ackResent,
      unhandledRequests: this.unhandledRequests,
      rejected,
    });
  }

  /** The UDP receive buffer the kernel granted, bytes (0 without UDP). */
  get udpReceiveBufferBytes(): number {
    return this.transport.udpReceiveBufferBytes;
  }


  localEndpoint(transport: SipTransportName): Endpoint {
    return this.transport.localEndpoint(transport);
  }

  /** Transports listening (UDP, TCP, WS or WSS). */
  get transports(): SipTransportName[] {
    return this.transport.transports;
  }

  /** The open WebSocket connection a request came from (its `access_token`), or undefined. */
  connection(source: Endpoint): WsConnectionInfo | undefined {
    return this.transport.connection(source);
  }

  /** Told when a WebSocket connection closes. */
  onConnectionClosed(listener: ConnectionListener['onClosed']): void {
    this.transport.addConnectionListener({ onClosed: listener });
  }

  /** WebSocket limits for operators; undefined when WebSocket is off. */
  get websocketLimits(): { maxConnections: number } | undefined {
    return this.transport.websocketLimits;
  }

  /** Terminate every transaction, clear every timer, close every socket. Idempotent. */
  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.layer.close();
    this.sentAcks.clear();
    this.closing = this.transport.close();
    return this.closing;
  }

  // ---- internals ---------------------------------------------------------

  private stampVia(req: SipRequest, dest: Endpoint): void {
    // WS/WSS: our WebSocket port, so the response's Via is recognised as ours (§18.1.2).
    const sentBy = `${this.transport.sentByHost}:${this.transport.localEndpoint(dest.transport).port};`;
    const via = `SIP/2.0/${dest.transport} ${sentBy}branch=${generateBranch()};rport`;
    // A request object re-sent by the TU (say, after a 401 with a new CSeq) already
    // carries our Via from the last attempt: replace it rather than stack a second one.
    const top = req.headers.getList('Via')[0];
    const ours = (t: string): boolean => top?.startsWith(`SIP/2.0/${t} ${this.transport.sentByHost}:${this.transport.localEndpoint(t as SipTransportName).port};`) === true;
    if (top !== undefined && (ours('UDP') || ours('TCP') || ours('WS') || ours('WSS'))) {
      req.headers.shiftList('Via');
    }
    req.headers.prepend('Via', via);
    if (!req.headers.has('Max-Forwards')) req.headers.set('Max-Forwards', '70');
  }

  private ackKey(msg: SipRequest | SipResponse): string | undefined {
    const callId = msg.headers.get('Call-ID');
    const cseq = msg.headers.get('CSeq');
    const toTag = getTag(msg.headers.get('To') ?? '');
    if (callId === undefined || cseq === undefined || toTag === undefined) return undefined;
    try {
      return `${callId}|${parseCSeq(cseq).seq}|${toTag}`;
    } catch {
      return undefined;
    }
  }

  private dispatchRequest(req: SipRequest, tx: ServerTransaction | null, source: Endpoint): void {
    // RFC 3261 §8.2.2: refuse what no TU may accept (unsupported URI scheme, required extensions) in the transaction, so retransmissions get the same answer.
    const refusal = tx === null ? undefined : checkUasRequest(req);
    if (refusal !== undefined && tx !== null) {
      this.uasRejected[refusal.status] = (this.uasRejected[refusal.status] ?? 0) + 1;
      tx.respond(uasRejectionResponse(req, refusal));
      return;
    }
    if (this.requestHandler === undefined) {
      this.unhandledRequests++;
      return; // the transaction's orphan timer releases it
    }
    this.requestHandler(req, tx, source);
  }

  private dispatchStray2xx(res: SipResponse, source: Endpoint): void {
    const key = this.ackKey(res);
    const sent = key === undefined ? undefined : this.sentAcks.get(key);
    if (sent !== undefined) {
      // The 2xx was retransmitted because our ACK was lost: send the same ACK again (§13.2.2.4).
      this.ackResent++;
      if ('bytes' in sent) this.transport.resend(sent);
      else this.transport.sendRequest(sent.ack, sent.dest);
      return;
    }
    this.stray2xxHandler?.(res, source);
  }
}
