/**
 * Structured logger on pino: one JSON object per line, so logs from several
 * processes under run/ can be merged and grepped. Level from config.
 *
 * Line shape (kept from the hand-written logger this replaced, so readers of
 * run/ logs and the tests did not change): `level` as a name, `t` as an ISO
 * time, `msg`, then the child's fields, then the call's fields (a call field
 * wins over a child field of the same name). Error values become
 * `{ name, message }`.
 *
 * Why pino: it writes stderr through an asynchronous destination (sonic-boom)
 * instead of a synchronous `process.stderr.write` per line on the hot path,
 * and formats faster (benchmarks/logging measures both, same run). Buffered
 * lines are flushed synchronously when the process exits.
 *
 * Secrets never reach a log line: fields named in REDACTED_KEYS are replaced
 * by `[redacted]` at the top level and two levels of plain objects down
 * (`{ req: { headers: { authorization } } }`), in child fields too.
 */
import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
  readonly level: LogLevel;
}

/** Field names whose values are secrets (auth tokens, passwords, Authorization headers, API key secrets, access tokens). */
export const REDACTED_KEYS: ReadonlySet<string> = new Set([
  'authToken', 'auth_token', 'password', 'operatorPassword', 'secret', 'apiKeySecret', 'keySecret',
  'token', 'accessToken', 'access_token', 'authorization', 'Authorization', 'proxyAuthorization', 'Proxy-Authorization',
]);

/** What a redacted value is replaced with. */
export const REDACTED = '[redacted]';

/** How deep into nested objects secrets are looked for: `{ req: { headers: { authorization } } }` is depth 2. */
const REDACT_DEPTH = 2;

function errorView(e: Error): { name: string; message: string } {
  return { name: e.name, message: e.message };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * The fields as they are logged: secret-named keys replaced by REDACTED (down
 * to REDACT_DEPTH levels of plain objects), Error values as `{ name, message }`
 * (no stack: logs are one line each and stacks leak paths). Copies only what
 * it changes; a line without secrets or errors is passed through as is.
 *
 * Done here rather than with pino's `redact` option: its wildcard paths
 * (needed for "this key at any of the first levels") cost ~10× the whole
 * line (benchmarks/logging), a key lookup per field does not.
 */
export function loggable(obj: Record<string, unknown>, depth = 0): Record<string, unknown> {
  let out: Record<string, unknown> | undefined;
  for (const k in obj) {
    const v = obj[k];
    let nv: unknown = v;
    if (REDACTED_KEYS.has(k)) nv = v === undefined ? v : REDACTED;
    else if (v instanceof Error) nv = errorView(v);
    else if (depth < REDACT_DEPTH && isPlainObject(v)) nv = loggable(v, depth + 1);
    if (nv !== v) {
      out ??= { ...obj };
      out[k] = nv;
    }
  }
  return out ?? obj;
}

/** One stderr destination per process: several loggers must not interleave partial writes on fd 2. */
let stderrDestination: DestinationStream | undefined;
function stderr(): DestinationStream {
  // sync: false → lines are queued and written by the event loop; pino flushes them synchronously at exit.
  stderrDestination ??= pino.destination({ dest: 2, sync: false });
  return stderrDestination;
}

/** A destination that hands each line (without its newline) to `sink`, synchronously: tests read what was logged right after logging it. */
function sinkDestination(sink: (line: string) => void): DestinationStream {
  return {
    write(chunk: string): void {
      sink(chunk.endsWith('\n') ? chunk.slice(0, -1) : chunk);
    },
  };
}

function wrap(p: PinoLogger, level: LogLevel): Logger {
  // Without fields, pino's one-argument form avoids merging an empty object.
  const at = (lvl: LogLevel) => (msg: string, fields?: Record<string, unknown>): void => {
    if (fields === undefined) p[lvl](msg);
    else p[lvl](fields, msg);
  };
  return {
    level,
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (f) => wrap(p.child(loggable(f)), level),
  };
}

/**
 * @param level lowest level written.
 * @param base fields on every line (as a child logger's).
 * @param sink where lines go, one call per line without the newline; default
 *   stderr through an asynchronous destination. Tests pass a function to capture lines.
 */
export function createLogger(level: LogLevel = 'info', base: Record<string, unknown> = {}, sink?: (line: string) => void): Logger {
  const p = pino(
    {
      level,
      base: null,
      messageKey: 'msg',
      timestamp: () => `,"t":"${new Date().toISOString()}"`,
      formatters: {
        level: (label) => ({ level: label }),
        log: (fields) => loggable(fields),
      },
      // pino's default `err` serializer writes type and stack; keep the one shape for every error field.
      serializers: { err: (v: unknown) => (v instanceof Error ? errorView(v) : v) },
    },
    sink === undefined ? stderr() : sinkDestination(sink),
  );
  return wrap(Object.keys(base).length === 0 ? p : p.child(loggable(base)), level);
}

/** A logger that drops everything (tests that do not care about logs). */
export const silentLogger: Logger = createLogger('error', {}, () => {});

/** Writes out what the asynchronous stderr destination still holds (before a planned exit or in a benchmark). Resolves at once when nothing was logged to stderr. */
export function flushLogs(): Promise<void> {
  const d = stderrDestination as (DestinationStream & { flush?: (cb?: (err?: Error) => void) => void }) | undefined;
  if (d?.flush === undefined) return Promise.resolve();
  return new Promise((resolve) => d.flush?.(() => resolve()));
}
