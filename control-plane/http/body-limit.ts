/**
 * The one request-body limit of the control plane (tenant and operator APIs).
 * The size is counted while reading — a chunked body has no Content-Length,
 * and a Content-Length is only a claim — and reading stops at the first chunk
 * over the limit. The checked bytes replace the raw body, so validators read
 * them from memory. An oversized body throws MeshError TOO_LARGE, which the
 * error renderer (`./errors.ts`) answers 413 with `Connection: close`.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { MeshError } from '../../regions/core/errors.js';

export interface BodyLimit {
  maxBytes: number;
  /** The error an oversized body raises (each API words it its own way). Default: TOO_LARGE "request body exceeds N bytes". */
  tooLarge?: (maxBytes: number) => MeshError;
}

const defaultTooLarge = (maxBytes: number): MeshError => new MeshError('TOO_LARGE', `request body exceeds ${maxBytes} bytes`);

/** Reads a body stream, refusing it as soon as it passes `maxBytes`. */
export async function readBounded(body: ReadableStream<Uint8Array>, maxBytes: number, tooLarge = defaultTooLarge): Promise<Uint8Array> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge(maxBytes);
    }
    chunks.push(value);
  }
  const out = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

/** Refuses a request whose Content-Length already claims more than the limit, before a byte is read. */
export function refuseDeclaredOver(c: Context, limit: BodyLimit): void {
  const declared = c.req.header('Content-Length');
  if (declared !== undefined && Number(declared) > limit.maxBytes) throw (limit.tooLarge ?? defaultTooLarge)(limit.maxBytes);
}

/** Reads the request body within the limit and puts the bytes back as the request's body. */
export async function bufferBody(c: Context, limit: BodyLimit): Promise<Uint8Array> {
  const body = c.req.raw.body;
  if (body === null) return new Uint8Array(0);
  const bytes = await readBounded(body, limit.maxBytes, limit.tooLarge);
  c.req.raw = new Request(c.req.raw, { body: bytes });
  return bytes;
}

/** Middleware: the declared length, then the counted read, for every request that has a body. */
export function bodyLimit(limit: BodyLimit): MiddlewareHandler {
  return async (c, next) => {
    if (c.req.raw.body === null) return next();
    refuseDeclaredOver(c, limit);
    await bufferBody(c, limit);
    await next();
  };
}
