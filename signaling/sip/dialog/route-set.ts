/**
 * Route set handling for requests inside a dialog (RFC 3261 §12.1.1,
 * §12.1.2, §12.2.1.1). Route set entries are kept as the Record-Route
 * values were received (name-addr with all URI parameters), because
 * §12.1.1 says the route set holds them "including all URI parameters".
 */
import { parseNameAddr, parseUri, formatUri } from '../message/index.js';
import type { SipHeaders } from '../message/headers.js';

/** Where an in-dialog request goes and what it carries. */
export interface RequestTarget {
  /** Request-URI of the request. */
  requestUri: string;
  /** Route header values, in order. */
  routes: string[];
  /** URI of the next hop (RFC 3261 §8.1.2): the first route, or the Request-URI when there is none. */
  nextHop: string;
}

/** The URI inside one Route / Record-Route value. */
export function routeUri(routeValue: string): string {
  return parseNameAddr(routeValue).uri;
}

/** True when the route's URI carries `lr` (RFC 3261 §16.12.1.1, loose routing). */
export function isLooseRoute(routeValue: string): boolean {
  return parseUri(routeUri(routeValue)).params.has('lr');
}

/**
 * Route set from the Record-Route of the message that created the dialog.
 * A UAS keeps the request's order (§12.1.1); a UAC reverses the response's
 * order (§12.1.2) so the first entry is the proxy nearest to it.
 * Every entry is parsed once here so a bad value fails at creation, not later.
 */
export function routeSetFromRecordRoute(headers: SipHeaders, order: 'as-received' | 'reversed'): string[] {
  const list = headers.getList('Record-Route');
  for (const v of list) parseUri(routeUri(v));
  return order === 'reversed' ? list.reverse() : list;
}

/**
 * A URI made fit for the Request-URI: the `method` parameter and URI headers
 * are not allowed there (RFC 3261 §19.1.1, table 1). Returns the input
 * unchanged when nothing had to go, so well-formed URIs keep their exact text.
 */
export function toRequestUri(uri: string): string {
  const parsed = parseUri(uri);
  if (!parsed.params.has('method') && parsed.headers.size === 0) return uri;
  parsed.params.delete('method');
  parsed.headers.clear();
  return formatUri(parsed);
}

/**
 * Request-URI and Route headers of a request within a dialog (RFC 3261 §12.2.1.1).
 *
 * - Empty route set: Request-URI = remote target, no Route.
 * - First route is loose (`lr`): Request-URI = remote target, Route = route set.
 * - First route is strict: Request-URI = first route's URI (params not allowed in a
 *   Request-URI stripped), Route = the rest of the route set followed by the remote
 *   target, so a strict router can restore it.
 */
export function computeRequestTarget(routeSet: readonly string[], remoteTarget: string): RequestTarget {
  const first = routeSet[0];
  if (first === undefined) {
    const requestUri = toRequestUri(remoteTarget);
    return { requestUri, routes: [], nextHop: requestUri };
  }
  if (isLooseRoute(first)) {
    return { requestUri: toRequestUri(remoteTarget), routes: [...routeSet], nextHop: routeUri(first) };
  }
  const requestUri = toRequestUri(routeUri(first));
  return { requestUri, routes: [...routeSet.slice(1), `<${remoteTarget}>`], nextHop: requestUri };
}
