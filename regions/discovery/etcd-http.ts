/**
 * A small client of etcd's v3 HTTP/JSON gateway (etcd ≥ 3.4 serves it under
 * `/v3/...` on the client port), so the etcd adapter needs no npm dependency.
 *
 * - Keys and values travel base64-encoded; int64 fields (lease IDs,
 *   revisions) arrive as decimal strings and stay strings or BigInts here:
 *   a lease ID does not fit in a double.
 * - Every call has a timeout; a call tries the endpoints in turn, starting
 *   with the last one that answered, and moves on when one cannot be reached.
 * - Responses are read with a byte cap (a misbehaving server cannot make us
 *   buffer without bound); a streamed watch is split on newlines, each
 *   message capped the same way.
 * - close() aborts what is in flight; those calls reject with CLOSED.
 */
import { MeshError } from '../core/errors.js';

export interface EtcdHttpOptions {
  /** Client URLs of the cluster's members, e.g. ['http://127.0.0.1:2379']. */
  endpoints: readonly string[];
  /** Timeout of one request to one endpoint. */
  requestTimeoutMs: number;
  /** Largest response body (and largest watch message) accepted, in bytes. */
  maxResponseBytes: number;
}

/** gRPC status codes etcd's gateway puts in error bodies (google.golang.org/grpc/codes). */
export const GRPC_NOT_FOUND = 5;

/** One key-value as the gateway returns it (mvccpb.KeyValue in JSON). */
export interface EtcdKv {
  key: string;
  value: string;
  lease: string;
  modRevision: bigint;
}

const enc = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
const dec = (s: string): string => Buffer.from(s, 'base64').toString('utf8');
export { enc as base64Encode, dec as base64Decode };

/** The range_end that selects every key starting with `prefix` (etcd's "prefix" convention: prefix with its last byte + 1). */
export function prefixRangeEnd(prefix: string): string {
  const b = Buffer.from(prefix, 'utf8');
  for (let i = b.length - 1; i >= 0; i--) {
    if (b[i]! < 0xff) {
      const end = Buffer.from(b.subarray(0, i + 1));
      end[i] = b[i]! + 1;
      return end.toString('base64');
    }
  }
  // All 0xff (never for our prefixes): "\0" means "to the end of the keyspace".
  return Buffer.from([0]).toString('base64');
}

/** An int64 as the gateway writes it (a decimal string; a missing field means 0). */
export function int64(v: unknown, what: string): bigint {
  if (v === undefined) return 0n;
  if (typeof v === 'string' && /^-?\d{1,20}$/.test(v)) return BigInt(v);
  if (typeof v === 'number' && Number.isSafeInteger(v)) return BigInt(v);
  throw new MeshError('BAD_GATEWAY', `etcd answered a malformed ${what}`);
}

/** A KeyValue from a response, validated; undefined for anything that is not one. */
export function readKv(raw: unknown): EtcdKv | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const r = raw as Record<string, unknown>;
  if (typeof r['key'] !== 'string') return undefined;
  const value = r['value'] ?? '';
  if (typeof value !== 'string') return undefined;
  try {
    return { key: dec(r['key']), value: dec(value), lease: int64(r['lease'], 'lease').toString(), modRevision: int64(r['mod_revision'], 'revision') };
  } catch {
    return undefined;
  }
}

export class EtcdHttp {
  private preferred = 0;
  private readonly inFlight = new Set<AbortController>();
  private closed = false;
  private readonly endpoints: string[];

  constructor(private readonly opts: EtcdHttpOptions) {
    if (opts.endpoints.length === 0) throw new MeshError('CONFIG_INVALID', 'etcd: at least one endpoint is required');
    this.endpoints = opts.endpoints.map((e) => {
      const u = new URL(e);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new MeshError('CONFIG_INVALID', `etcd endpoint ${e}: must be http:// or https://`);
      return u.origin;
    });
  }

  /** POST a JSON request to `path` (e.g. '/v3/kv/range') and return the parsed JSON answer. */
  async call(path: string, body: unknown, what: string): Promise<Record<string, unknown>> {
    const payload = JSON.stringify(body);
    let lastError: MeshError | undefined;
    for (let n = 0; n < this.endpoints.length; n++) {
      const i = (this.preferred + n) % this.endpoints.length;
      try {
        const res = await this.request(i, path, payload, this.opts.requestTimeoutMs, async (r, ctrl) => {
          const text = await readCapped(r, this.opts.maxResponseBytes, ctrl);
          return { status: r.status, text };
        });
        this.preferred = i;
        const json = parseObject(res.text);
        if (res.status < 200 || res.status > 299) throw gatewayError(res.status, json, what);
        if (json === undefined) throw new MeshError('BAD_GATEWAY', `etcd ${what}: answer is not a JSON object`);
        return json;
      } catch (e) {
        const err = asMeshError(e, `etcd ${what}`, this.opts.requestTimeoutMs);
        // Only an unreachable or silent endpoint sends us to the next one; an answer (even an error) is final.
        const unreachable = (err.code === 'SERVICE_UNAVAILABLE' && err.detail?.['grpcCode'] === undefined) || err.code === 'UPSTREAM_TIMEOUT';
        if (!unreachable) throw err;
        lastError = err;
      }
    }
    throw lastError ?? new MeshError('SERVICE_UNAVAILABLE', `etcd ${what}: no endpoint`);
  }

  /**
   * Open a streaming POST (the watch) and hand each newline-delimited JSON
   * message to `onMessage` until the stream ends, `signal` aborts, or
   * `onMessage` returns false. Resolves when the stream ended (normally or
   * by abort); rejects on a failure to connect, an HTTP error, or a message
   * over the cap. The timeout bounds the wait for response headers only.
   */
  async stream(path: string, body: unknown, signal: AbortSignal, onMessage: (msg: Record<string, unknown>) => boolean, what: string): Promise<void> {
    const i = this.preferred;
    try {
      await this.request(
        i,
        path,
        JSON.stringify(body),
        this.opts.requestTimeoutMs,
        async (res, ctrl, headersArrived) => {
          headersArrived();
          if (res.status < 200 || res.status > 299) {
            throw gatewayError(res.status, parseObject(await readCapped(res, this.opts.maxResponseBytes, ctrl)), what);
          }
          await readLines(res, this.opts.maxResponseBytes, ctrl, (line) => {
            const msg = parseObject(line);
            if (msg === undefined) throw new MeshError('BAD_GATEWAY', `etcd ${what}: a streamed message is not a JSON object`);
            return onMessage(msg);
          });
        },
        signal,
      );
    } catch (e) {
      // Stopped by the caller: not a failure.
      if (signal.aborted) return;
      const err = asMeshError(e, `etcd ${what}`, this.opts.requestTimeoutMs);
      // Next time, try the next member first.
      if (err.code === 'SERVICE_UNAVAILABLE' || err.code === 'UPSTREAM_TIMEOUT') this.preferred = (i + 1) % this.endpoints.length;
      throw err;
    }
  }

  /** Abort everything in flight (it rejects with CLOSED). Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const c of this.inFlight) c.abort(new MeshError('CLOSED', 'etcd client closed'));
    this.inFlight.clear();
  }

  private async request<T>(
    endpoint: number,
    path: string,
    payload: string,
    timeoutMs: number,
    handle: (res: Response, ctrl: AbortController, headersArrived: () => void) => Promise<T>,
    signal?: AbortSignal,
  ): Promise<T> {
    if (this.closed) throw new MeshError('CLOSED', 'etcd client closed');
    const ctrl = new AbortController();
    this.inFlight.add(ctrl);
    const onAbort = (): void => ctrl.abort(signal?.reason);
    if (signal?.aborted === true) onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(
      () => ctrl.abort(new MeshError('UPSTREAM_TIMEOUT', `timed out after ${timeoutMs} ms`, { detail: { timeoutMs } })),
      timeoutMs,
    );
    try {
      const res = await fetch(this.endpoints[endpoint] + path, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: payload,
        signal: ctrl.signal,
      });
      return await handle(res, ctrl, () => clearTimeout(timer));
    } catch (e) {
      // An abort rejects with the abort's reason (our MeshError) or a DOMException wrapping it.
      const reason: unknown = ctrl.signal.aborted ? ctrl.signal.reason : undefined;
      throw reason instanceof MeshError ? reason : e;
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      this.inFlight.delete(ctrl);
    }
  }
}

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** A gateway error body: {"error": "...", "message": "...", "code": <grpc code>}. */
function gatewayError(status: number, body: Record<string, unknown> | undefined, what: string): MeshError {
  const message = typeof body?.['message'] === 'string' ? body['message'].slice(0, 300) : `HTTP ${status}`;
  const grpcCode = typeof body?.['code'] === 'number' ? body['code'] : -1;
  return new MeshError('SERVICE_UNAVAILABLE', `etcd ${what}: ${message}`, { detail: { httpStatus: status, grpcCode } });
}

function asMeshError(e: unknown, what: string, timeoutMs: number): MeshError {
  if (e instanceof MeshError) {
    return e.message.startsWith('etcd ') ? e : new MeshError(e.code, `${what}: ${e.message}`, { cause: e, ...(e.detail === undefined ? {} : { detail: e.detail }) });
  }
  const name = (e as Error | undefined)?.name;
  if (name === 'TimeoutError') return new MeshError('UPSTREAM_TIMEOUT', `${what} timed out after ${timeoutMs} ms`, { cause: e, detail: { timeoutMs } });
  // fetch reports refused and reset connections as a TypeError whose cause says why.
  const cause = (e as { cause?: { code?: string; message?: string } } | undefined)?.cause;
  return new MeshError('SERVICE_UNAVAILABLE', `${what} failed: ${cause?.code ?? cause?.message ?? String(e)}`, { cause: e });
}

async function readCapped(res: Response, max: number, ctrl: AbortController): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  if (res.body === null) return '';
  for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > max) {
      ctrl.abort(new MeshError('TOO_LARGE', `etcd answer over ${max} bytes`));
      throw new MeshError('TOO_LARGE', `etcd answer over ${max} bytes`);
    }
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Split a streamed body on '\n'; each line (one gateway message) at most `max` bytes. */
async function readLines(res: Response, max: number, ctrl: AbortController, onLine: (line: string) => boolean): Promise<void> {
  if (res.body === null) return;
  let pending: Buffer[] = [];
  let pendingSize = 0;
  for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
    let buf = Buffer.from(chunk);
    let nl: number;
    while ((nl = buf.indexOf(0x0a)) >= 0) {
      const line = Buffer.concat([...pending, buf.subarray(0, nl)]).toString('utf8').trim();
      pending = [];
      pendingSize = 0;
      buf = buf.subarray(nl + 1);
      if (line !== '' && !onLine(line)) {
        ctrl.abort(new MeshError('CLOSED', 'watch stopped'));
        return;
      }
    }
    pending.push(buf);
    pendingSize += buf.length;
    if (pendingSize > max) {
      ctrl.abort(new MeshError('TOO_LARGE', `etcd watch message over ${max} bytes`));
      throw new MeshError('TOO_LARGE', `etcd watch message over ${max} bytes`);
    }
  }
  const last = Buffer.concat(pending).toString('utf8').trim();
  if (last !== '') onLine(last);
}
