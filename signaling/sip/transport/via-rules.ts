/**
 * Via processing at the transport layer: what a server writes into the top
 * Via of a request it receives (RFC 3261 §18.2.1, RFC 3581 §4), and where a
 * response goes (RFC 3261 §18.2.2, RFC 3581 §4).
 */
import { formatVia, parseVia } from '../message/index.js';
import type { Endpoint, SipRequest, Via } from '../message/types.js';
import { DEFAULT_SIP_PORT, stripBrackets } from './endpoint.js';

/**
 * Stamp `received` / `rport` into the request's top Via, in place.
 * `received` is added when the sent-by host is not the packet's source
 * address, and always when `rport` was asked for (RFC 3581 §4); `rport` gets
 * the source port. Returns the parsed top Via (after stamping), or undefined
 * when the request has no parseable Via.
 */
export function stampTopVia(req: SipRequest, source: Endpoint): Via | undefined {
  const raw = req.headers.getList('Via')[0];
  if (raw === undefined) return undefined;
  let via: Via;
  try {
    via = parseVia(raw);
  } catch {
    return undefined;
  }
  const wantsRport = via.params.has('rport');
  const hostDiffers = stripBrackets(via.host).toLowerCase() !== source.address.toLowerCase();
  if (!wantsRport && !hostDiffers) return via;
  via.params.set('received', source.address);
  if (wantsRport) via.params.set('rport', String(source.port));
  req.headers.shiftList('Via');
  req.headers.prepend('Via', formatVia(via));
  return via;
}

/**
 * RFC 3261 §18.2.2 for an unreliable transport, or for a reliable one whose
 * connection is gone: `received` (+ `rport` value, RFC 3581) when present,
 * else the sent-by host and port (default 5060). `maddr` (multicast) is not
 * supported and ignored.
 */
export function responseDestination(via: Via, transport: Endpoint['transport']): Endpoint {
  const received = via.params.get('received');
  const rport = via.params.get('rport');
  const rportNum = typeof rport === 'string' && /^\d{1,5}$/.test(rport) ? Number(rport) : undefined;
  if (typeof received === 'string' && received.length > 0) {
    return {
      transport,
      address: stripBrackets(received),
      port: rportNum ?? via.port ?? DEFAULT_SIP_PORT,
    };
  }
  return { transport, address: stripBrackets(via.host), port: rportNum ?? via.port ?? DEFAULT_SIP_PORT };
}
