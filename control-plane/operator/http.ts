/**
 * HTTP plumbing of the operator API: operator Basic auth, JSON body checks
 * (415, malformed JSON, 1 MiB limit), and the error body `{code, message,
 * status}` every failure uses, built from the MeshError catalogue.
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import type { ZodError } from 'zod';
import { ERROR_CATALOGUE, MeshError, isMeshError, type ErrorCode } from '../../regions/core/errors.js';

export const MAX_BODY_BYTES = 1024 * 1024;
const REALM = 'mesh-operator';

export interface ErrorBody {
  code: string;
  message: string;
  status: number;
  field?: string;
}

const CODE_BY_STATUS: Record<number, ErrorCode> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  409: 'CONFLICT',
  413: 'TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  429: 'RATE_LIMITED',
};

export function errorResponse(c: Context, status: number, code: string, message: string, field?: string): Response {
  const body: ErrorBody = { code, message, status, ...(field === undefined ? {} : { field }) };
  return c.json(body, status as 400);
}

/** Maps anything thrown by a route to the error body; unknown errors become a 500 that leaks nothing. */
export function handleError(err: unknown, c: Context, onInternal?: (err: unknown) => void): Response {
  if (isMeshError(err)) {
    if (err.code === 'UNAUTHORIZED') c.header('WWW-Authenticate', `Basic realm="${REALM}", charset="UTF-8"`);
    if (err.retryAfter !== undefined) c.header('Retry-After', String(err.retryAfter));
    // The rest of an oversized body is never read: the connection cannot be reused.
    if (err.code === 'TOO_LARGE') c.header('Connection', 'close');
    const field = typeof err.detail?.field === 'string' ? err.detail.field : undefined;
    return errorResponse(c, err.httpStatus, err.code, err.message, field);
  }
  if (err instanceof HTTPException) {
    const code = CODE_BY_STATUS[err.status] ?? 'INTERNAL';
    return errorResponse(c, err.status, code, err.message || ERROR_CATALOGUE[code].reason);
  }
  onInternal?.(err);
  return errorResponse(c, 500, 'INTERNAL', 'internal error');
}

/** `allowedSources.0` → `allowedSources[0]`, the name a JSON client recognises. */
export function fieldName(path: readonly (string | number)[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? p : `.${p}`;
  return out;
}

/** The first zod issue as a 400 that names the field (unknown keys are named too). */
export function validationError(c: Context, error: ZodError, where: 'body' | 'path' | 'query'): Response {
  const issue = error.issues[0];
  if (issue === undefined) return errorResponse(c, 400, 'BAD_REQUEST', `invalid ${where}`);
  let field = fieldName(issue.path);
  if (issue.code === 'unrecognized_keys' && issue.keys[0] !== undefined) {
    field = fieldName([...issue.path, issue.keys[0]]);
    return errorResponse(c, 400, 'BAD_REQUEST', `${field}: unknown field`, field);
  }
  if (field === '') field = where;
  return errorResponse(c, 400, 'BAD_REQUEST', `${field}: ${issue.message}`, field);
}

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/**
 * HTTP Basic (RFC 7617) with the operator's own credentials. Compared as
 * SHA-256 digests with timingSafeEqual so neither length nor content leaks
 * through timing.
 */
export function operatorAuth(creds: { username: string; password: string }): MiddlewareHandler {
  const want = digest(`${creds.username}:${creds.password}`);
  return async (c, next) => {
    const header = c.req.header('Authorization') ?? '';
    const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
    const given = m?.[1] === undefined ? undefined : Buffer.from(m[1], 'base64').toString('utf8');
    if (given === undefined || !given.includes(':') || !timingSafeEqual(digest(given), want)) {
      throw new MeshError('UNAUTHORIZED', 'operator credentials required');
    }
    await next();
  };
}

/**
 * JSON request body checks, before validation: 413 over 1 MiB (chunked
 * bodies are counted as they stream), 415 unless `application/json`, and a
 * 400 naming `body` when it does not parse. The parsed body is cached by hono,
 * so the route validator does not read it twice.
 */
export function jsonBody(maxBytes = MAX_BODY_BYTES): MiddlewareHandler[] {
  const limit = bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw new MeshError('TOO_LARGE', `request body exceeds ${maxBytes} bytes`);
    },
  });
  const parse: MiddlewareHandler = async (c, next) => {
    const type = (c.req.header('Content-Type') ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
    if (type !== 'application/json') {
      throw new MeshError('UNSUPPORTED_MEDIA_TYPE', 'request body must be application/json', { detail: { field: 'Content-Type' } });
    }
    try {
      await c.req.json();
    } catch {
      throw new MeshError('BAD_REQUEST', 'body: malformed JSON', { detail: { field: 'body' } });
    }
    await next();
  };
  return [limit, parse];
}
