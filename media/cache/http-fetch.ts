/**
 * HTTP GET of a media URL with a time limit and a size limit, optionally
 * conditional on an ETag (RFC 9110 §13.1.2 If-None-Match → 304).
 */
import { MeshError } from '../../regions/core/errors.js';

export interface MediaFetchOptions {
  timeoutMs: number;
  maxBytes: number;
  /** Sent as If-None-Match when present. */
  etag?: string | undefined;
}

export type MediaFetchResult =
  | { status: 'ok'; body: Buffer; contentType: string | undefined; cacheControl: string | undefined; etag: string | undefined }
  | { status: 'not-modified'; cacheControl: string | undefined; etag: string | undefined };

export async function fetchMedia(url: string, o: MediaFetchOptions): Promise<MediaFetchResult> {
  const u = new URL(url);
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new MeshError('BAD_REQUEST', `media URL must be http(s): ${url}`);
  const signal = AbortSignal.timeout(o.timeoutMs);
  let res: Response;
  try {
    res = await fetch(u, {
      headers: { 'User-Agent': 'edge-mesh-media-cache/0.1', ...(o.etag !== undefined ? { 'If-None-Match': o.etag } : {}) },
      signal,
      redirect: 'follow',
    });
  } catch (e) {
    const timedOut = (e as Error).name === 'TimeoutError';
    throw new MeshError(timedOut ? 'UPSTREAM_TIMEOUT' : 'BAD_GATEWAY', `media fetch ${url}: ${(e as Error).message}`, { cause: e });
  }
  const cacheControl = res.headers.get('cache-control') ?? undefined;
  const etag = res.headers.get('etag') ?? undefined;
  if (res.status === 304) {
    await res.body?.cancel();
    return { status: 'not-modified', cacheControl, etag };
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw new MeshError('BAD_GATEWAY', `media fetch ${url}: HTTP ${res.status}`, { detail: { status: res.status } });
  }
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (declared > o.maxBytes) {
    await res.body?.cancel();
    throw new MeshError('TOO_LARGE', `media ${url} is ${declared} bytes, limit ${o.maxBytes}`);
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  if (res.body !== null) {
    const reader = res.body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        total += value.length;
        if (total > o.maxBytes) {
          await reader.cancel();
          throw new MeshError('TOO_LARGE', `media ${url} exceeds ${o.maxBytes} bytes`);
        }
        chunks.push(value);
      }
    } catch (e) {
      if (e instanceof MeshError) throw e;
      const timedOut = (e as Error).name === 'TimeoutError';
      throw new MeshError(timedOut ? 'UPSTREAM_TIMEOUT' : 'BAD_GATEWAY', `media fetch ${url}: ${(e as Error).message}`, { cause: e });
    }
  }
  return { status: 'ok', body: Buffer.concat(chunks), contentType: res.headers.get('content-type') ?? undefined, cacheControl, etag };
}
