/**
 * Request bodies: form-encoded only (what the 2010-04-01 API takes), at most
 * `maxBytes`. The size is counted while reading — a chunked body has no
 * Content-Length, and a Content-Length is only a claim — and reading stops at
 * the first byte over the limit. The checked bytes replace the raw body so
 * the validators read them from memory.
 */
import type { MiddlewareHandler } from 'hono';
import { apiError } from '../errors.js';
import type { TenantEnv } from '../types.js';

const FORM = 'application/x-www-form-urlencoded';

function tooLarge(maxBytes: number) {
  return apiError('TOO_LARGE', `Request body exceeds ${maxBytes} bytes`, 20413);
}

/** Reads a body stream, refusing it as soon as it passes `maxBytes`. */
export async function readBounded(body: ReadableStream<Uint8Array>, maxBytes: number): Promise<Uint8Array> {
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

/** True when every `%` starts a two-hex-digit escape and the decoded bytes are UTF-8 (WHATWG URL §5.1). */
export function isWellFormedForm(bytes: Uint8Array): boolean {
  const text = Buffer.from(bytes).toString('latin1');
  if (/%(?![0-9A-Fa-f]{2})/.test(text)) return false;
  try {
    const decoder = new TextDecoder('utf-8', { fatal: true });
    for (const pair of text.split('&')) {
      for (const part of pair.split('=')) decoder.decode(Buffer.from(decodePercent(part.replace(/\+/g, ' ')), 'latin1'));
    }
    return true;
  } catch {
    return false;
  }
}

function decodePercent(s: string): string {
  return s.replace(/%([0-9A-Fa-f]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
}

export function formBody(maxBytes: number): MiddlewareHandler<TenantEnv> {
  return async (c, next) => {
    const method = c.req.method;
    if (method !== 'POST' && method !== 'PUT' && method !== 'PATCH') return next();
    const declared = c.req.header('Content-Length');
    if (declared !== undefined && Number(declared) > maxBytes) throw tooLarge(maxBytes);
    const hasBody = c.req.raw.body !== null && (declared === undefined ? c.req.header('Transfer-Encoding') !== undefined : Number(declared) > 0);
    if (!hasBody) return next();
    const mediaType = (c.req.header('Content-Type') ?? '').split(';')[0]?.trim().toLowerCase();
    if (mediaType !== FORM) {
      throw apiError('UNSUPPORTED_MEDIA_TYPE', `Request bodies must be ${FORM}`, 20415);
    }
    const bytes = await readBounded(c.req.raw.body!, maxBytes);
    if (!isWellFormedForm(bytes)) throw apiError('BAD_REQUEST', 'Malformed form-encoded request body', 20001);
    c.req.raw = new Request(c.req.raw, { body: bytes });
    await next();
  };
}
