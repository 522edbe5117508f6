/**
 * Router errors carry the instruction dialect's numeric error code (the value
 * sent as `ErrorCode` to the fallback URL and to status callbacks) beside the
 * platform's MeshError code.
 */
import { MeshError, type ErrorCode } from '../../regions/core/errors.js';

/** The dialect's error codes the router reports. */
export const DIALECT_ERRORS = {
  /** HTTP retrieval failure: the application answered with a non-2xx status. */
  HTTP_RETRIEVAL_FAILURE: 11200,
  /** HTTP connection failure: connect error, timeout, or circuit open. */
  HTTP_CONNECTION_FAILURE: 11205,
  /** The document is not well-formed XML. */
  DOCUMENT_PARSE_FAILURE: 12100,
  /** The document is XML but not valid instructions (unknown verb, bad attribute). */
  SCHEMA_VALIDATION_WARNING: 12200,
} as const;

export type DialectErrorCode = (typeof DIALECT_ERRORS)[keyof typeof DIALECT_ERRORS];

const MESH_CODE: Record<DialectErrorCode, ErrorCode> = {
  11200: 'BAD_GATEWAY',
  11205: 'UPSTREAM_TIMEOUT',
  12100: 'BAD_GATEWAY',
  12200: 'BAD_GATEWAY',
};

/** Build a MeshError whose `detail.dialectCode` is the dialect's code. */
export function routerError(
  dialectCode: DialectErrorCode,
  message: string,
  detail: Record<string, unknown> = {},
  cause?: unknown,
): MeshError {
  return new MeshError(MESH_CODE[dialectCode], message, {
    detail: { dialectCode, ...detail },
    ...(cause === undefined ? {} : { cause }),
  });
}

/** The dialect code carried by an error, or undefined when it is not a router error. */
export function dialectCodeOf(e: unknown): DialectErrorCode | undefined {
  if (!(e instanceof MeshError)) return undefined;
  const c = e.detail?.['dialectCode'];
  return typeof c === 'number' ? (c as DialectErrorCode) : undefined;
}
