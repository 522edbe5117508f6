/**
 * HTTP plumbing of the operator API: operator Basic auth, JSON body checks
 * (415, malformed JSON, 1 MiB limit), and the error body `{code, message,
 * status, field?}` every failure uses. Status, headers and 500 masking come
 * from the control plane's one renderer (control-plane/http/errors.ts), the
 * limit from its one body limit (control-plane/http/body-limit.ts).
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import type { ZodError } from 'zod';
import { MeshError } from '../../regions/core/errors.js';
import { bodyLimit } from '../http/body-limit.js';
import { renderHttpError, type ErrorFormat } from '../http/errors.js';

export const MAX_BODY_BYTES = 1024 * 1024;

export interface ErrorBody {
  code: string;
  message: string;
  status: number;
  field?: string;
}

const OPERATOR_ERRORS: ErrorFormat<ErrorBody> = {
  body: (err) => {
    const field = typeof err.detail?.['field'] === 'string' ? err.detail['field'] : undefined;
    return { code: err.code, message: err.message, status: err.httpStatus, ...(field === undefined ? {} : { field }) };
  },
  realm: 'mesh-operator',
  internalMessage: 'internal error',
};

/** Maps anything thrown by a route to the error body; unknown errors become a 500 that leaks nothing. */
export function handleError(err: unknown, c: Context, onInternal?: (err: unknown) => void): Response {
  return renderHttpError(err, c, OPERATOR_ERRORS, onInternal === undefined ? undefined : (e) => onInternal(e));
}

/** `allowedSources.0` → `allowedSources[0]`, the name a JSON client recognises. */
export function fieldName(path: readonly (string | number)[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? p : `.${p}`;
  return out;
}

const badRequest = (message: string, field?: string): MeshError =>
  new MeshError('BAD_REQUEST', message, field === undefined ? {} : { detail: { field } });

/** The first zod issue as a 400 that names the field (unknown keys are named too). */
export function validationError(error: ZodError, where: 'body' | 'path' | 'query'): MeshError {
  const issue = error.issues[0];
  if (issue === undefined) return badRequest(`invalid ${where}`);
  let field = fieldName(issue.path);
  if (issue.code === 'unrecognized_keys' && issue.keys[0] !== undefined) {
    field = fieldName([...issue.path, issue.keys[0]]);
    return badRequest(`${field}: unknown field`, field);
  }
  if (field === '') field = where;
  return badRequest(`${field}: ${issue.message}`, field);
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
  const limit = bodyLimit({ maxBytes, tooLarge: (max) => new MeshError('TOO_LARGE', `request body exceeds ${max} bytes`) });
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
