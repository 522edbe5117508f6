/**
 * One error catalogue for the whole platform. Every error carries a stable
 * code and maps to a SIP status (for signaling) and an HTTP status (for APIs).
 * Never throw strings: throw `MeshError`.
 */
export const ERROR_CATALOGUE = {
  BAD_REQUEST: { sip: 400, http: 400, reason: 'Bad Request' },
  UNAUTHORIZED: { sip: 401, http: 401, reason: 'Unauthorized' },
  FORBIDDEN: { sip: 403, http: 403, reason: 'Forbidden' },
  NOT_FOUND: { sip: 404, http: 404, reason: 'Not Found' },
  METHOD_NOT_ALLOWED: { sip: 405, http: 405, reason: 'Method Not Allowed' },
  REQUEST_TIMEOUT: { sip: 408, http: 504, reason: 'Request Timeout' },
  CONFLICT: { sip: 409, http: 409, reason: 'Conflict' },
  TOO_LARGE: { sip: 513, http: 413, reason: 'Message Too Large' },
  UNSUPPORTED_MEDIA_TYPE: { sip: 415, http: 415, reason: 'Unsupported Media Type' },
  RATE_LIMITED: { sip: 503, http: 429, reason: 'Too Many Requests' },
  TRANSACTION_DOES_NOT_EXIST: { sip: 481, http: 404, reason: 'Call/Transaction Does Not Exist' },
  LOOP_DETECTED: { sip: 482, http: 508, reason: 'Loop Detected' },
  TOO_MANY_HOPS: { sip: 483, http: 508, reason: 'Too Many Hops' },
  BUSY_HERE: { sip: 486, http: 409, reason: 'Busy Here' },
  REQUEST_TERMINATED: { sip: 487, http: 409, reason: 'Request Terminated' },
  NOT_ACCEPTABLE_HERE: { sip: 488, http: 400, reason: 'Not Acceptable Here' },
  INTERNAL: { sip: 500, http: 500, reason: 'Server Internal Error' },
  BAD_GATEWAY: { sip: 502, http: 502, reason: 'Bad Gateway' },
  SERVICE_UNAVAILABLE: { sip: 503, http: 503, reason: 'Service Unavailable' },
  UPSTREAM_TIMEOUT: { sip: 504, http: 504, reason: 'Server Time-out' },
  TRANSPORT_ERROR: { sip: 503, http: 502, reason: 'Service Unavailable' },
  CIRCUIT_OPEN: { sip: 503, http: 503, reason: 'Service Unavailable' },
  CLOSED: { sip: 503, http: 503, reason: 'Service Unavailable' },
  CONFIG_INVALID: { sip: 500, http: 500, reason: 'Server Internal Error' },
  // What the B2BUA and the call router answer a caller (reason phrases as the caller sees them).
  NO_ROUTE: { sip: 404, http: 404, reason: 'No Route To Number' },
  NOT_ADMITTED: { sip: 403, http: 403, reason: 'Source Not Admitted' },
  NUMBER_NOT_IN_SERVICE: { sip: 403, http: 403, reason: 'Number Not In Service' },
  CALL_CAPACITY: { sip: 503, http: 503, reason: 'Call Capacity Reached' },
  /** Admission control refused a new call before the node's resources run out (signaling/b2bua/admission.ts). */
  NODE_OVERLOADED: { sip: 503, http: 503, reason: 'Node Overloaded' },
  SHUTTING_DOWN: { sip: 503, http: 503, reason: 'Node Shutting Down' },
  NODE_DRAINING: { sip: 503, http: 503, reason: 'Node Draining' },
  SDP_REQUIRED: { sip: 488, http: 400, reason: 'SDP Offer Required' },
  NO_AUDIO_OFFERED: { sip: 488, http: 400, reason: 'No Audio Stream In Offer' },
  NO_MEDIA_NODE: { sip: 503, http: 503, reason: 'No Media Node Available' },
  MEDIA_UNAVAILABLE: { sip: 503, http: 503, reason: 'Media Node Unavailable' },
  NO_ANSWER: { sip: 408, http: 504, reason: 'No Answer' },
  DESTINATION_UNREACHABLE: { sip: 503, http: 502, reason: 'Destination Unreachable' },
  BAD_ROUTE: { sip: 500, http: 500, reason: 'Bad Route Destination' },
  MALFORMED_REQUEST_URI: { sip: 400, http: 400, reason: 'Malformed Request-URI' },
  INVALID_MAX_FORWARDS: { sip: 400, http: 400, reason: 'Invalid Max-Forwards' },
  DECLINED: { sip: 603, http: 409, reason: 'Decline' },
  /** A client (`client:<identity>`) with no live registration, or one not on this node (RFC 3261 §21.4.18). */
  CLIENT_NOT_REGISTERED: { sip: 480, http: 404, reason: 'Client Not Registered' },
} as const;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export class MeshError extends Error {
  readonly code: ErrorCode;
  /** Extra detail for logs and API bodies (never secrets). */
  readonly detail: Record<string, unknown> | undefined;
  /** Seconds a client should wait before retrying (SIP Retry-After, HTTP Retry-After). */
  readonly retryAfter: number | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    opts: { cause?: unknown; detail?: Record<string, unknown>; retryAfter?: number } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'MeshError';
    this.code = code;
    this.detail = opts.detail;
    this.retryAfter = opts.retryAfter;
  }

  get sipStatus(): number {
    return ERROR_CATALOGUE[this.code].sip;
  }
  get httpStatus(): number {
    return ERROR_CATALOGUE[this.code].http;
  }
  get sipReason(): string {
    return ERROR_CATALOGUE[this.code].reason;
  }
}

export function isMeshError(e: unknown, code?: ErrorCode): e is MeshError {
  return e instanceof MeshError && (code === undefined || e.code === code);
}

/** The SIP status line a catalogue entry answers with (B2BUA, call router). */
export function sipAnswer(code: ErrorCode): { status: number; reason: string } {
  const entry = ERROR_CATALOGUE[code];
  return { status: entry.sip, reason: entry.reason };
}
