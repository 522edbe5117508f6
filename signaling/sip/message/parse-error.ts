import { MeshError } from '../../../regions/core/errors.js';
import type { SipRequest } from './types.js';

/**
 * A SIP message (or one of its header fields, or a URI) that cannot be
 * accepted. Always code `BAD_REQUEST`; `reason` is a short phrase fit for a
 * SIP reason phrase ("Missing Via header", "Bad Content-Length").
 *
 * `partial` is set when the input was a request with a readable method and at
 * least one Via value (see `isAnswerable` in validate.ts), so that a server
 * can still answer it with a 400 (RFC 3261 §8.2.6, RFC 4475 §3.1.2, §3.3.1);
 * its headers are raw and may be missing or malformed.
 * `status` is the SIP status the RFCs suggest for this failure: 400 in
 * general, 505 for an unsupported SIP version and 513 for an oversize
 * message (RFC 3261 §21.5), 416 for an unsupported URI scheme (§8.2.2.1).
 */
export class SipParseError extends MeshError {
  readonly reason: string;
  readonly partial: SipRequest | undefined;
  readonly status: number;

  constructor(
    reason: string,
    opts: { partial?: SipRequest | undefined; status?: number; cause?: unknown; detail?: Record<string, unknown> } = {},
  ) {
    const meshOpts: { cause?: unknown; detail?: Record<string, unknown> } = {};
    if (opts.cause !== undefined) meshOpts.cause = opts.cause;
    if (opts.detail !== undefined) meshOpts.detail = opts.detail;
    super('BAD_REQUEST', reason, meshOpts);
    this.name = 'SipParseError';
    this.reason = reason;
    this.partial = opts.partial;
    this.status = opts.status ?? 400;
  }

  /** The same error carrying the partially parsed request. */
  withPartial(partial: SipRequest): SipParseError {
    return new SipParseError(this.reason, { partial, status: this.status, cause: this });
  }
}

export function isSipParseError(e: unknown): e is SipParseError {
  return e instanceof SipParseError;
}
