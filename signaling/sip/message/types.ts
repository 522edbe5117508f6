import type { SipHeaders } from './headers.js';

/** A SIP request (RFC 3261 §7.1). `uri` is the raw Request-URI; parse it with `parseUri`. */
export interface SipRequest {
  readonly type: 'request';
  method: string;
  uri: string;
  /** Always `SIP/2.0` for messages we accept. */
  version: string;
  headers: SipHeaders;
  body: Buffer;
}

/** A SIP response (RFC 3261 §7.2). */
export interface SipResponse {
  readonly type: 'response';
  version: string;
  status: number;
  reason: string;
  headers: SipHeaders;
  body: Buffer;
}

export type SipMessage = SipRequest | SipResponse;

/** Parsed SIP/SIPS/TEL URI (RFC 3261 §19.1). Parameter and header names are lower-cased. */
export interface SipUri {
  scheme: string;
  user: string | undefined;
  password: string | undefined;
  host: string;
  port: number | undefined;
  /** uri-parameters; a flag parameter (`;lr`) has value null. */
  params: Map<string, string | null>;
  /** `?name=value&...` headers, unescaped. */
  headers: Map<string, string>;
}

/** name-addr or addr-spec with header parameters: From, To, Contact, Route, Record-Route. */
export interface NameAddr {
  displayName: string | undefined;
  /** The URI text as written (without `<>`). */
  uri: string;
  /** Header parameters (after the URI), e.g. `tag`; flags have value null. */
  params: Map<string, string | null>;
}

/** One Via element (RFC 3261 §20.42). */
export interface Via {
  /** e.g. `SIP/2.0/UDP` → protocol `SIP/2.0`, transport `UDP` (upper-case). */
  protocol: string;
  transport: string;
  host: string;
  port: number | undefined;
  /** Parameters: branch, received, rport (null when flag), maddr, ttl, ... */
  params: Map<string, string | null>;
}

export interface CSeq {
  seq: number;
  method: string;
}

/** SIP transports this stack runs: RFC 3261 §18 (UDP, TCP) and RFC 7118 (WS, WSS: server side only). */
export type SipTransportName = 'UDP' | 'TCP' | 'WS' | 'WSS';

/** Where a message came from / goes to on the network. For WS/WSS, the remote end of an open connection. */
export interface Endpoint {
  transport: SipTransportName;
  address: string;
  port: number;
}

/** Message size limits; every input is bounded. */
export interface SipLimits {
  /** Largest message accepted, headers + body. Default 65535 bytes. */
  maxMessageBytes: number;
  /** Most header fields in one message. Default 128. */
  maxHeaders: number;
  /** Longest single (unfolded) header line. Default 8192 bytes. */
  maxLineBytes: number;
}

export const DEFAULT_SIP_LIMITS: SipLimits = {
  maxMessageBytes: 65535,
  maxHeaders: 128,
  maxLineBytes: 8192,
};
