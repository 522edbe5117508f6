/**
 * Request bodies: form-encoded only (what the 2010-04-01 API takes), at most
 * `maxBytes`, counted while reading by the control plane's one body limit
 * (control-plane/http/body-limit.ts). The media type is checked before the
 * body is read, so a body of the wrong type is refused (415) unread.
 */
import type { MiddlewareHandler } from 'hono';
import { bufferBody, refuseDeclaredOver, type BodyLimit } from '../../http/body-limit.js';
import { apiError } from '../errors.js';
import type { TenantEnv } from '../types.js';

const FORM = 'application/x-www-form-urlencoded';

function tooLarge(maxBytes: number) {
  return apiError('TOO_LARGE', `Request body exceeds ${maxBytes} bytes`, 20413);
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
  const limit: BodyLimit = { maxBytes, tooLarge };
  return async (c, next) => {
    const method = c.req.method;
    if (method !== 'POST' && method !== 'PUT' && method !== 'PATCH') return next();
    refuseDeclaredOver(c, limit);
    const declared = c.req.header('Content-Length');
    const hasBody = c.req.raw.body !== null && (declared === undefined ? c.req.header('Transfer-Encoding') !== undefined : Number(declared) > 0);
    if (!hasBody) return next();
    const mediaType = (c.req.header('Content-Type') ?? '').split(';')[0]?.trim().toLowerCase();
    if (mediaType !== FORM) {
      throw apiError('UNSUPPORTED_MEDIA_TYPE', `Request bodies must be ${FORM}`, 20415);
    }
    const bytes = await bufferBody(c, limit);
    if (!isWellFormedForm(bytes)) throw apiError('BAD_REQUEST', 'Malformed form-encoded request body', 20001);
    await next();
  };
}
