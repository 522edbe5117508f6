/**
 * HTTP GET of a media URL with a time limit and a size limit, optionally
 * conditional on an ETag (RFC 9110 §13.1.2 If-None-Match → 304). The URL is
 * a tenant's: the destination (after DNS, and at every redirect) must pass
 * the webhook destination policy (regions/net/guarded-request.ts).
 */
import { MeshError } from '../../regions/core/errors.js';
import { OPEN_DESTINATION_POLICY, type DestinationPolicy } from '../../regions/net/destination-policy.js';
import { guardedRequest, readBody } from '../../regions/net/guarded-request.js';

export interface MediaFetchOptions {
  timeoutMs: number;
  maxBytes: number;
  /** Sent as If-None-Match when present. */
  etag?: string | undefined;
  /** Where media may be fetched from. Default OPEN_DESTINATION_POLICY (anywhere). */
  policy?: DestinationPolicy | undefined;
}

export type MediaFetchResult =
  | { status: 'ok'; body: Buffer; contentType: string | undefined; cacheControl: string | undefined; etag: string | undefined }
  | { status: 'not-modified'; cacheControl: string | undefined; etag: string | undefined };

/** Redirects followed per fetch. */
const MAX_REDIRECTS = 5;

/**
 * Throws MeshError: BAD_REQUEST (not http(s)), FORBIDDEN (refused by the
 * policy: isDestinationRefused), UPSTREAM_TIMEOUT, TOO_LARGE, BAD_GATEWAY.
 */
export async function fetchMedia(url: string, o: MediaFetchOptions): Promise<MediaFetchResult> {
  const u = new URL(url);
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new MeshError('BAD_REQUEST', `media URL must be http(s): ${url}`);
  const signal = AbortSignal.timeout(o.timeoutMs);
  const res = await guardedRequest({
    method: 'GET',
    url,
    headers: { 'User-Agent': 'edge-mesh-media-cache/0.1', ...(o.etag !== undefined ? { 'If-None-Match': o.etag } : {}) },
    policy: o.policy ?? OPEN_DESTINATION_POLICY,
    signal,
    maxRedirects: MAX_REDIRECTS,
  }).catch((e: unknown) => {
    if (e instanceof MeshError) throw new MeshError(e.code, `media fetch ${url}: ${e.message}`, { cause: e, ...(e.detail !== undefined ? { detail: e.detail } : {}) });
    throw e;
  });
  const header = (name: string): string | undefined => {
    const v = res.headers[name];
    return Array.isArray(v) ? v.join(', ') : v;
  };
  const cacheControl = header('cache-control');
  const etag = header('etag');
  if (res.status === 304) {
    res.body.destroy();
    return { status: 'not-modified', cacheControl, etag };
  }
  if (res.status < 200 || res.status > 299) {
    res.body.destroy();
    throw new MeshError('BAD_GATEWAY', `media fetch ${url}: HTTP ${res.status}`, { detail: { status: res.status } });
  }
  const declared = Number(header('content-length') ?? NaN);
  if (declared > o.maxBytes) {
    res.body.destroy();
    throw new MeshError('TOO_LARGE', `media ${url} is ${declared} bytes, limit ${o.maxBytes}`);
  }
  const { bytes, truncated } = await readBody(res.body, o.maxBytes, signal, `media fetch ${url}`);
  if (truncated) throw new MeshError('TOO_LARGE', `media ${url} exceeds ${o.maxBytes} bytes`);
  return { status: 'ok', body: bytes, contentType: header('content-type'), cacheControl, etag };
}
