/**
 * Fetch a call's instruction document: the application's primary URL, and on
 * a connect error, a timeout, a non-2xx status, or a document that does not
 * parse or validate, its fallback URL with `ErrorCode` and `ErrorUrl` added
 * to the parameters (the dialect's fallback contract). Each request is signed
 * (webhooks/signature.ts) and goes through its host's circuit breaker.
 */
import { MeshError, isMeshError } from '../../regions/core/errors.js';
import type { DestinationPolicy } from '../../regions/net/destination-policy.js';
import { sendWebhook } from '../webhooks/http.js';
import type { Params } from '../webhooks/signature.js';
import { DIALECT_ERRORS, dialectCodeOf, routerError, type DialectErrorCode } from './errors.js';
import type { HostBreakers } from './host-breakers.js';
import { parseTwiml, type TwimlOptions } from './twiml.js';
import type { HttpMethod, TwimlDocument } from './twiml-types.js';

export interface InstructionUrl {
  url: string;
  method: HttpMethod;
}

export interface FetchError {
  /** The dialect's code: 11200, 11205, 12100 or 12200. */
  code: DialectErrorCode;
  message: string;
  url: string;
}

export interface FetchInstructionsOptions {
  primary: InstructionUrl;
  fallback?: InstructionUrl | undefined;
  params: Params;
  authToken: string;
  /** Per-request timeout, set per application. Default 5000 ms. */
  timeoutMs?: number;
  breakers: HostBreakers;
  /** Limits for the document parser (maxBytes also bounds the response body). */
  twiml?: Omit<TwimlOptions, 'documentUrl'>;
  /** Where the URLs may point (webhooks.*); a refused URL fails like a connection failure (11205). Default: sendWebhook's (anywhere). */
  policy?: DestinationPolicy;
}

export interface FetchedInstructions {
  document: TwimlDocument;
  source: 'primary' | 'fallback';
  /** Why the primary was not used, when source is 'fallback'. */
  primaryError?: FetchError;
  /** Milliseconds spent fetching (both requests together). */
  ms: number;
}

/** Throws a MeshError (detail: primaryError, fallbackError, dialectCode) when no document could be had. */
export async function fetchInstructions(o: FetchInstructionsOptions): Promise<FetchedInstructions> {
  const started = performance.now();
  const first = await attempt(o, o.primary, o.params);
  if (first.ok) return { document: first.document, source: 'primary', ms: performance.now() - started };
  const primaryError = first.error;
  if (o.fallback === undefined || o.fallback.url === '') {
    throw routerError(primaryError.code, `instructions unavailable: ${primaryError.message}`, { primaryError });
  }
  const second = await attempt(o, o.fallback, {
    ...o.params,
    ErrorCode: String(primaryError.code),
    ErrorUrl: primaryError.url,
  });
  if (second.ok) return { document: second.document, source: 'fallback', primaryError, ms: performance.now() - started };
  throw routerError(primaryError.code, `instructions unavailable: primary: ${primaryError.message}; fallback: ${second.error.message}`, {
    primaryError,
    fallbackError: second.error,
  });
}

type Attempt = { ok: true; document: TwimlDocument } | { ok: false; error: FetchError };

async function attempt(o: FetchInstructionsOptions, target: InstructionUrl, params: Params): Promise<Attempt> {
  const breaker = o.breakers.forUrl(target.url);
  const maxBytes = o.twiml?.maxBytes ?? 64 * 1024;
  let body: string;
  try {
    body = await breaker.run(async () => {
      const r = await sendWebhook({
        method: target.method,
        url: target.url,
        params,
        authToken: o.authToken,
        timeoutMs: o.timeoutMs ?? 5000,
        // One byte over the limit tells a too-large document from one that fits exactly.
        maxBodyBytes: maxBytes + 1,
        ...(o.policy !== undefined ? { policy: o.policy } : {}),
      });
      // The dialect reports a URL pointing at a private or local address as 11205 (HTTP connection
      // failure). Returned, not thrown: the host is not unwell, so the breaker must not count it.
      if (r.refused === true) return routerError(DIALECT_ERRORS.HTTP_CONNECTION_FAILURE, r.error ?? 'destination not allowed');
      if (r.status === undefined) {
        throw routerError(DIALECT_ERRORS.HTTP_CONNECTION_FAILURE, `request failed: ${r.error ?? 'unknown error'}`);
      }
      if (!r.ok) {
        const e = routerError(DIALECT_ERRORS.HTTP_RETRIEVAL_FAILURE, `HTTP ${r.status}`, { status: r.status });
        // Only a 5xx says the host is unwell; a 4xx is an answer and should not open the breaker.
        if (r.status >= 500) throw e;
        return e;
      }
      return r.body;
    }).then((v) => {
      if (v instanceof MeshError) throw v;
      return v;
    });
  } catch (e) {
    if (isMeshError(e, 'CIRCUIT_OPEN')) {
      return fail(DIALECT_ERRORS.HTTP_CONNECTION_FAILURE, `host unavailable (${e.message})`, target.url);
    }
    const code = dialectCodeOf(e) ?? DIALECT_ERRORS.HTTP_CONNECTION_FAILURE;
    return fail(code, (e as Error).message, target.url);
  }
  if (Buffer.byteLength(body, 'utf8') > maxBytes) {
    return fail(DIALECT_ERRORS.DOCUMENT_PARSE_FAILURE, `document larger than ${maxBytes} bytes`, target.url);
  }
  try {
    return { ok: true, document: parseTwiml(body, { ...o.twiml, documentUrl: target.url }) };
  } catch (e) {
    const code = dialectCodeOf(e) ?? DIALECT_ERRORS.DOCUMENT_PARSE_FAILURE;
    return fail(code, (e as Error).message, target.url);
  }
}

function fail(code: DialectErrorCode, message: string, url: string): Attempt {
  return { ok: false, error: { code, message, url } };
}
