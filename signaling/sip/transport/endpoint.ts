/**
 * Endpoints: where a message goes on the network. No DNS here (RFC 3263 is
 * out of scope): only numeric hosts and `localhost` resolve.
 */
import { isIP } from 'node:net';
import { MeshError } from '../../../regions/core/errors.js';
import type { Endpoint, SipUri } from '../message/types.js';

export const DEFAULT_SIP_PORT = 5060;

/** `[::1]` → `::1`; other hosts unchanged. */
export function stripBrackets(host: string): string {
  return host.length > 1 && host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** Map key for a remote address + port (transport-agnostic: the caller knows which map). */
export function addressKey(address: string, port: number): string {
  return `${address}:${port}`;
}

/** `UDP:1.2.3.4:5060` for logs and maps that mix transports. */
export function endpointKey(e: Endpoint): string {
  return `${e.transport}:${e.address}:${e.port}`;
}

/**
 * Where to send a request for `uri` (RFC 3263 without DNS): the `transport`
 * URI parameter wins over `defaultTransport`, the port defaults to 5060.
 * Throws MeshError BAD_REQUEST for host names (other than localhost) and for
 * transports we do not run (TLS, SCTP, WS).
 */
export function uriToEndpoint(uri: SipUri, defaultTransport: 'UDP' | 'TCP'): Endpoint {
  let transport = defaultTransport;
  const param = uri.params.get('transport');
  if (typeof param === 'string') {
    const t = param.toUpperCase();
    if (t !== 'UDP' && t !== 'TCP') {
      throw new MeshError('BAD_REQUEST', `unsupported transport ${param}`, { detail: { transport: param } });
    }
    transport = t;
  }
  if (uri.scheme.toLowerCase() === 'sips') {
    throw new MeshError('BAD_REQUEST', 'sips URIs need TLS, which this stack does not run');
  }
  const host = stripBrackets(uri.host);
  let address: string;
  if (host.toLowerCase() === 'localhost') address = '127.0.0.1';
  else if (isIP(host) !== 0) address = host;
  else throw new MeshError('BAD_REQUEST', `cannot resolve host ${host}: only numeric hosts are supported`, { detail: { host } });
  return { transport, address, port: uri.port ?? DEFAULT_SIP_PORT };
}
