/**
 * The transport seam (RFC 3261 §18): what the SIP stack needs from the
 * network, whichever transports are enabled. `SipTransportLayer` implements
 * it over UDP and TCP; test/integration/signaling/sip/transport/contract.ts is the
 * contract suite every transport runs.
 */
import type { Endpoint, SipRequest, SipResponse, SipTransportName } from '../message/types.js';
import type { TransactionTransport } from '../transaction/types.js';
import type { TransportCounters } from './counters.js';

export type TransportName = SipTransportName;

/** Where parsed messages go (the transaction layer). */
export interface TransportListener {
  onRequest(req: SipRequest, source: Endpoint): void;
  onResponse(res: SipResponse, source: Endpoint): void;
}

export interface SipTransport extends TransactionTransport {
  /** Local IP bound and announced in Via sent-by. */
  readonly address: string;
  /**
   * Local port, the same for UDP and TCP; WS/WSS listen on their own
   * (`localEndpoint('WS')`). A transport running only WS/WSS reports that port.
   */
  readonly port: number;
  readonly transports: TransportName[];
  /** Host part for Via sent-by / Contact: IPv6 literals in brackets. */
  readonly sentByHost: string;
  readonly counters: TransportCounters;
  /**
   * Requests arrive with received/rport stamped in their top Via (§18.2.1,
   * RFC 3581 §4) and the packet's source; responses only when their top Via
   * is ours (§18.1.2). A listener that throws does not take the transport down.
   */
  setListener(l: TransportListener): void;
  localEndpoint(transport: TransportName): Endpoint;
  /**
   * Close sockets and connections. Idempotent (every call returns the same
   * promise); afterwards sends fail with MeshError CLOSED and nothing is delivered.
   */
  close(): Promise<void>;
}
