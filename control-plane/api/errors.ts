/**
 * API errors: MeshError (regions/core/errors.ts) gives the HTTP status; the
 * body carries a numeric `code` modeled on the 2010-04-01 API's error codes,
 * so clients that branch on them keep working. Table in control-plane/README.md.
 */
import type { Context } from 'hono';
import type { Logger } from '../../regions/core/log.js';
import { MeshError, type ErrorCode } from '../../regions/core/errors.js';
import { renderHttpError, type ErrorFormat } from '../http/errors.js';

/** Default API code per catalogue entry, used when the thrower gave no specific one. */
const DEFAULT_API_CODES: Partial<Record<ErrorCode, number>> = {
  BAD_REQUEST: 20001,
  UNAUTHORIZED: 20003,
  FORBIDDEN: 20403,
  NOT_FOUND: 20404,
  METHOD_NOT_ALLOWED: 20004,
  CONFLICT: 20409,
  TOO_LARGE: 20413,
  UNSUPPORTED_MEDIA_TYPE: 20415,
  RATE_LIMITED: 20429,
  SERVICE_UNAVAILABLE: 20503,
};

/** Field-specific codes of a 400, as the real API numbers them. */
const FIELD_CODES: Record<string, { missing: number; invalid: number }> = {
  To: { missing: 21201, invalid: 21211 },
  From: { missing: 21213, invalid: 21212 },
  Url: { missing: 21205, invalid: 21205 },
  ApplicationSid: { missing: 21218, invalid: 21218 },
  PhoneNumber: { missing: 21421, invalid: 21421 },
};

export interface ApiErrorBody {
  code: number;
  message: string;
  more_info: string;
  status: number;
}

export function apiError(code: ErrorCode, message: string, apiCode?: number, field?: string): MeshError {
  return new MeshError(code, message, { detail: { ...(apiCode === undefined ? {} : { apiCode }), ...(field === undefined ? {} : { field }) } });
}

/** 400 naming the parameter: "Missing required parameter To" or "Invalid parameter To: …". */
export function badParam(field: string, problem?: string): MeshError {
  const codes = FIELD_CODES[field];
  const message = problem === undefined ? `Missing required parameter ${field}` : `Invalid parameter ${field}: ${problem}`;
  return apiError('BAD_REQUEST', message, problem === undefined ? (codes?.missing ?? 20001) : (codes?.invalid ?? 20001), field);
}

export function notFound(what = 'The requested resource'): MeshError {
  return apiError('NOT_FOUND', `${what} was not found`, 20404);
}

export function errorBody(err: MeshError): ApiErrorBody {
  const apiCode = typeof err.detail?.['apiCode'] === 'number' ? (err.detail['apiCode'] as number) : (DEFAULT_API_CODES[err.code] ?? 20500);
  return {
    code: apiCode,
    message: err.message,
    more_info: `https://www.twilio.com/docs/errors/${apiCode}`,
    status: err.httpStatus,
  };
}

/** The tenant API's error body, on the control plane's one renderer (control-plane/http/errors.ts). */
const TENANT_ERRORS: ErrorFormat<ApiErrorBody> = {
  body: errorBody,
  realm: 'edge-mesh',
  internalMessage: 'Internal server error',
};

/** hono onError: every failure leaves as the JSON error body; a 500 says nothing of its cause and is logged. */
export function renderError(err: unknown, c: Context, log?: Logger): Response {
  return renderHttpError(err, c, TENANT_ERRORS, (e, ctx) => log?.error('tenant api: unexpected error', { err: e, path: ctx.req.path }));
}
