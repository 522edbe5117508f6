/**
 * One HTTP(S) request to a URL a tenant chose, under a DestinationPolicy:
 * the host is resolved here (every address, node:dns lookup), every address
 * is checked, and the connection is made only to those checked addresses —
 * the socket's lookup is pinned to them, so a DNS answer that changes between
 * the check and the connect (DNS rebinding) cannot move the request. Redirects
 * are followed by hand, bounded, and each Location goes through the same
 * resolution and check (RFC 9110 §15.4). One signal bounds the whole exchange,
 * DNS and body included.
 */
import type { LookupAddress } from 'node:dns';
import { lookup as dnsLookup } from 'node:dns/promises';
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import type { Readable } from 'node:stream';
import { MeshError } from '../core/errors.js';
import { destinationRefused, isDestinationAllowed, type DestinationPolicy } from './destination-policy.js';

/** Every address of a host name. */
export type Resolver = (host: string) => Promise<LookupAddress[]>;

/** getaddrinfo through node:dns, every address, in the resolver's order (so /etc/hosts applies). */
export const systemResolver: Resolver = (host) => dnsLookup(host, { all: true, verbatim: true });

export interface GuardedRequestOptions {
  method: 'GET' | 'POST';
  url: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  policy: DestinationPolicy;
  /** Ends the whole exchange (every hop, DNS, and the reading of the body). Callers pass AbortSignal.timeout(…). */
  signal: AbortSignal;
  /** Redirects followed before giving up. Default 5. */
  maxRedirects?: number;
  /** Default systemResolver. */
  resolve?: Resolver;
}

export interface GuardedResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** The URL that answered (the last Location followed). */
  url: string;
  /** The address the answer came from (checked by the policy). */
  address: string;
  /** The body; destroyed by the signal. */
  body: Readable;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/**
 * Throws MeshError: FORBIDDEN (isDestinationRefused) when the policy refuses
 * a hop, BAD_REQUEST for a URL that is not http(s), BAD_GATEWAY for DNS and
 * connection failures and too many redirects, UPSTREAM_TIMEOUT when the
 * signal fired on a timeout (CLOSED on any other abort).
 */
export async function guardedRequest(o: GuardedRequestOptions): Promise<GuardedResponse> {
  const maxRedirects = o.maxRedirects ?? 5;
  let url = parseHttpUrl(o.url);
  let method = o.method;
  let body = o.body;
  let headers = { ...o.headers };
  for (let hop = 0; ; hop++) {
    const res = await requestOnce(o, url, method, headers, body);
    const location = res.headers.location;
    if (!REDIRECTS.has(res.status) || location === undefined) return res;
    res.body.destroy();
    if (hop >= maxRedirects) {
      throw new MeshError('BAD_GATEWAY', `more than ${maxRedirects} redirects`, { detail: { reason: 'too-many-redirects' } });
    }
    let next: URL;
    try {
      next = parseHttpUrl(new URL(location, url).href);
    } catch (e) {
      throw new MeshError('BAD_GATEWAY', `redirect from ${url.host} to an unusable Location`, { cause: e });
    }
    // RFC 9110 §15.4.4: 303 turns any method into GET; §15.4.2-3: 301/302 after POST become GET in practice (as fetch does).
    if (res.status === 303 || ((res.status === 301 || res.status === 302) && method === 'POST')) {
      method = 'GET';
      body = undefined;
      const { 'Content-Type': _ct, ...rest } = headers;
      headers = rest;
    }
    // Credentials for one origin are not handed to another (as fetch does).
    if (next.origin !== url.origin) {
      const { Authorization: _auth, ...rest } = headers;
      headers = rest;
    }
    url = next;
  }
}

function parseHttpUrl(text: string): URL {
  let u: URL;
  try {
    u = new URL(text);
  } catch (e) {
    throw new MeshError('BAD_REQUEST', 'not a valid URL', { cause: e });
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new MeshError('BAD_REQUEST', `URL must be http(s), not ${u.protocol}`);
  // fetch refuses these too; sending credentials embedded in a URL is not supported here.
  if (u.username !== '' || u.password !== '') throw new MeshError('BAD_REQUEST', `URL of ${u.host} must not contain credentials`);
  return u;
}

/** The addresses to connect to for this URL, every one checked; throws the refusal otherwise. */
async function checkedAddresses(o: GuardedRequestOptions, url: URL): Promise<LookupAddress[]> {
  // URL keeps IPv6 literals in brackets; the WHATWG parser has already turned 2130706433, 0x7f.1, 127.1 into dotted quads.
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const literal = isIP(host);
  let addresses: LookupAddress[];
  if (literal !== 0) addresses = [{ address: host, family: literal }];
  else {
    try {
      addresses = await abortable((o.resolve ?? systemResolver)(host), o.signal);
    } catch (e) {
      throw asMeshError(e, o.signal, `cannot resolve ${host}`);
    }
    if (addresses.length === 0) throw new MeshError('BAD_GATEWAY', `cannot resolve ${host}: no address`);
  }
  // Every address must pass: the connection may fall over to any of them (Happy Eyeballs).
  const bad = addresses.find((a) => !isDestinationAllowed(o.policy, a.address));
  if (bad !== undefined) throw destinationRefused(url.host, bad.address);
  return addresses;
}

function pinnedLookup(addresses: LookupAddress[]): LookupFunction {
  return (_hostname, options, callback) => {
    const usable = options.family === 4 || options.family === 6 ? addresses.filter((a) => a.family === options.family) : addresses;
    const first = usable[0];
    if (first === undefined) {
      callback(Object.assign(new Error('no checked address of the requested family'), { code: 'ENOTFOUND' }), '', 0);
      return;
    }
    if (options.all === true) callback(null, usable);
    else callback(null, first.address, first.family);
  };
}

async function requestOnce(
  o: GuardedRequestOptions,
  url: URL,
  method: 'GET' | 'POST',
  headers: Record<string, string>,
  body: string | Buffer | undefined,
): Promise<GuardedResponse> {
  const addresses = await checkedAddresses(o, url);
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const allHeaders: Record<string, string | number> = { ...headers };
  if (body !== undefined) allHeaders['Content-Length'] = Buffer.byteLength(body);
  return new Promise<GuardedResponse>((resolve, reject) => {
    let req: ReturnType<typeof httpRequest>;
    try {
      req = send({
        protocol: url.protocol,
        hostname: host,
        port: url.port === '' ? undefined : Number(url.port),
        path: url.pathname + url.search,
        method,
        headers: allHeaders,
        // TLS still verifies the certificate against the URL's host name (servername defaults to it).
        lookup: pinnedLookup(addresses),
        // No pooled socket: one could have been connected under another policy or before a DNS change.
        agent: false,
        signal: o.signal,
      });
    } catch (e) {
      reject(asMeshError(e, o.signal, `request to ${url.host} failed`));
      return;
    }
    req.once('response', (res: IncomingMessage) => {
      resolve({ status: res.statusCode ?? 0, headers: res.headers, url: url.href, address: req.socket?.remoteAddress ?? addresses[0]!.address, body: res });
    });
    req.once('error', (e) => reject(asMeshError(e, o.signal, `request to ${url.host} failed`)));
    req.end(body);
  });
}

/** Wrap a failure in the error catalogue: timeouts and aborts by the signal's reason, the rest as BAD_GATEWAY. */
export function asMeshError(e: unknown, signal: AbortSignal, what: string): MeshError {
  if (e instanceof MeshError) return e;
  if (signal.aborted) {
    const reason = signal.reason as Error | undefined;
    return reason?.name === 'TimeoutError'
      ? new MeshError('UPSTREAM_TIMEOUT', `${what}: timed out`, { cause: e })
      : new MeshError('CLOSED', `${what}: aborted`, { cause: e });
  }
  return new MeshError('BAD_GATEWAY', `${what}: ${(e as Error).message}`, { cause: e });
}

function abortable<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/**
 * Read a body up to `max` bytes. Over the limit the stream is destroyed and
 * `truncated` is true; the chunks before the one that went over are returned
 * (at most `max` bytes, often fewer: a cut document stays visibly cut).
 * A failure while reading (the signal firing, the peer resetting) is thrown
 * as asMeshError.
 */
export async function readBody(body: Readable, max: number, signal: AbortSignal, what: string): Promise<{ bytes: Buffer; truncated: boolean }> {
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      if (total + chunk.length > max) {
        body.destroy();
        return { bytes: Buffer.concat(chunks), truncated: true };
      }
      total += chunk.length;
      chunks.push(chunk);
    }
  } catch (e) {
    throw asMeshError(e, signal, what);
  }
  return { bytes: Buffer.concat(chunks), truncated: false };
}
