/** Public entry point of the SIP transport layer (RFC 3261 §18, RFC 3581). */
export { SipTransportLayer } from './transport-layer.js';
export type { SipTransportOptions, TransportCounters } from './transport-layer.js';
export type { SipTransport, TransportListener, TransportName } from './types.js';
export type { TcpOptions } from './tcp-connections.js';
export { uriToEndpoint, endpointKey, stripBrackets, DEFAULT_SIP_PORT } from './endpoint.js';
export { stampTopVia, responseDestination } from './via-rules.js';
