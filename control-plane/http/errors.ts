/**
 * The one HTTP error renderer of the control plane (tenant API, operator API).
 * Anything thrown becomes a MeshError; its catalogue entry (regions/core/errors.ts)
 * gives the HTTP status, and the headers follow from the code: a Basic challenge
 * with 401, `Retry-After` when the error carries one, `Connection: close` with
 * 413, `Allow` with 405. Every 500 is masked — the client reads only the API's
 * "internal error" text, the unmasked error goes to `onInternal` — so a stack,
 * a Redis key or a file path never reaches the wire. Each API keeps its own
 * wire body through `ErrorFormat.body`.
 */
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { HTTPException } from 'hono/http-exception';
import { ERROR_CATALOGUE, MeshError, type ErrorCode } from '../../regions/core/errors.js';

/** How one API writes its error bodies. */
export interface ErrorFormat<B> {
  /** The response body of an error (already masked when it is a 500). */
  body: (err: MeshError) => B;
  /** Realm of the `WWW-Authenticate: Basic` challenge sent with a 401 (RFC 7617 §2). */
  realm: string;
  /** The message every 500 carries instead of the real one. */
  internalMessage: string;
}

/** Told about every 500 with the error as thrown, for the log; it never reaches the client. */
export type InternalErrorSink = (err: unknown, c: Context) => void;

/** First catalogue entry per HTTP status: how a bare HTTP status (hono's HTTPException) is named. */
const CODE_BY_HTTP_STATUS: ReadonlyMap<number, ErrorCode> = (() => {
  const byStatus = new Map<number, ErrorCode>();
  for (const [code, entry] of Object.entries(ERROR_CATALOGUE) as [ErrorCode, (typeof ERROR_CATALOGUE)[ErrorCode]][]) {
    if (!byStatus.has(entry.http)) byStatus.set(entry.http, code);
  }
  return byStatus;
})();

/**
 * The MeshError a thrown value answers as, or undefined for an unexpected
 * failure. hono's own validators and middleware throw HTTPException (e.g. an
 * unparseable body); its status names the catalogue entry.
 */
export function toMeshError(err: unknown): MeshError | undefined {
  if (err instanceof MeshError) return err;
  if (err instanceof HTTPException) {
    const code = CODE_BY_HTTP_STATUS.get(err.status);
    if (code !== undefined) return new MeshError(code, err.message || ERROR_CATALOGUE[code].reason, { cause: err });
  }
  return undefined;
}

/** Renders anything thrown by a route or middleware as `format`'s error response. */
export function renderHttpError<B>(err: unknown, c: Context, format: ErrorFormat<B>, onInternal?: InternalErrorSink): Response {
  const known = toMeshError(err);
  let shown: MeshError;
  if (known === undefined || known.httpStatus === 500) {
    onInternal?.(err, c);
    shown = new MeshError('INTERNAL', format.internalMessage);
  } else {
    shown = known;
  }
  if (shown.code === 'UNAUTHORIZED') c.header('WWW-Authenticate', `Basic realm="${format.realm}", charset="UTF-8"`);
  // The rest of an oversized body is never read, so the connection cannot carry another request.
  if (shown.code === 'TOO_LARGE') c.header('Connection', 'close');
  if (shown.retryAfter !== undefined) c.header('Retry-After', String(shown.retryAfter));
  const allow = shown.detail?.['allow'];
  if (typeof allow === 'string') c.header('Allow', allow);
  return c.json(format.body(shown), shown.httpStatus as ContentfulStatusCode);
}
