import type { Endpoint, SipRequest, SipResponse } from '../message/types.js';

/**
 * What the transaction layer needs from the transport layer (RFC 3261 §18).
 * The real implementation is `SipTransportLayer`; unit tests use an in-memory fake.
 */
export interface TransactionTransport {
  /** Send a request to `dest`; asynchronous failures (TCP connect, ICMP) arrive on `onError`. */
  sendRequest(req: SipRequest, dest: Endpoint, onError?: (e: Error) => void): void;
  /**
   * Send a response for a request that arrived from `source`; the transport
   * picks the destination per RFC 3261 §18.2.2 (same connection, received/rport, sent-by).
   * Over UDP it returns what it sent, so a retransmission can `resend` the bytes
   * without keeping the message; undefined when nothing was sent or the transport
   * is connection-oriented (there the destination is chosen again each time).
   */
  sendResponse(res: SipResponse, source: Endpoint, onError?: (e: Error) => void): SentMessage | undefined;
  /** Send again bytes a `sendResponse` returned (a retransmission). */
  resend(sent: SentMessage, onError?: (e: Error) => void): void;
}

/**
 * A UDP message as it went out: its wire bytes and destination. A lingering
 * transaction keeps this instead of the parsed message, whose strings and
 * header maps the GC would scan for 32 s.
 */
export interface SentMessage {
  /** The bytes; or, once `keepSent` made it fit for keeping, the same bytes as a latin1 string. */
  readonly bytes: Buffer | string;
  readonly dest: Endpoint;
}

/**
 * A SentMessage fit to be kept for 64*T1. A small Buffer is a slice of an 8 KiB
 * pool shared with other messages, and keeping the slice keeps the whole pool
 * (a heap snapshot at 800 calls/s: 60 MB of pools pinned by 23k kept messages).
 * A latin1 string holds the same bytes, one to one, in one flat object.
 */
export function keepSent(sent: SentMessage): SentMessage {
  return typeof sent.bytes === 'string' ? sent : { bytes: sent.bytes.toString('latin1'), dest: sent.dest };
}

/** Callbacks of a client transaction to its TU. */
export interface ClientTransactionCallbacks {
  onProvisional?(res: SipResponse): void;
  /** The first final response. Later 2xx (retransmissions, forks) go to the stack's stray-2xx path. */
  onFinal(res: SipResponse): void;
  /** Timer B / F (no final response in time), or the CANCEL give-up timer (§9.1). */
  onTimeout(): void;
  onTransportError(e: Error): void;
}

export type ClientState = 'Calling' | 'Trying' | 'Proceeding' | 'Completed' | 'Accepted' | 'Terminated';
export type ServerState = 'Trying' | 'Proceeding' | 'Completed' | 'Confirmed' | 'Accepted' | 'Terminated';

/** A client transaction as the TU sees it. */
export interface ClientTransaction {
  readonly request: SipRequest;
  readonly destination: Endpoint;
  readonly method: string;
  readonly state: ClientState;
  /** True once a provisional response arrived (a CANCEL may be sent only then, RFC 3261 §9.1). */
  readonly hasProvisional: boolean;
  /** Called once when the transaction reaches Terminated. */
  onTerminated: (() => void) | undefined;
}

/** A server transaction as the TU sees it. */
export interface ServerTransaction {
  readonly request: SipRequest;
  readonly source: Endpoint;
  readonly method: string;
  readonly state: ServerState;
  /** Send a response (1xx, 2xx or final) within the transaction. Ignored once the transaction is over. */
  respond(res: SipResponse): void;
  /** Register a handler for a CANCEL matching this INVITE (RFC 3261 §9.2). */
  onCancel(cb: () => void): void;
  readonly isCancelled: boolean;
  /** Called once when the transaction reaches Terminated. */
  onTerminated: (() => void) | undefined;
  /**
   * INVITE only: `cb` runs if our 2xx was retransmitted for 64*T1 and no ACK
   * came (RFC 3261 §13.3.1.4); the TU should then end the dialog with BYE.
   */
  onAckTimeout(cb: () => void): void;
}
