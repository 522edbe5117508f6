/**
 * Delivers locally stored branch copies to the home region's central media
 * service after the call: `PUT {centralUrl}/branches/{callSid}/{branchId}`
 * with the WAV and its `X-Content-SHA256`, retried with capped exponential
 * backoff until the service answers 2xx with the same checksum. The queue is
 * a manifest on disk (see manifest.ts), so a link cut or an edge restart only
 * delays delivery.
 *
 * Outcomes per attempt: 2xx with our checksum → delivered, removed from the
 * queue (and the local file deleted if `deleteAfterUpload`); a network error,
 * timeout, 408, 429, 5xx, or 409 "checksum mismatch" (bytes damaged in
 * transit) → retried; 409 "a different copy is stored" or another 4xx →
 * `failed`, kept in the manifest for an operator, never retried.
 */
import { readFile, rm } from 'node:fs/promises';
import { backoffDelay, type BackoffOptions } from '../../regions/link/backoff.js';
import { MeshError } from '../../regions/core/errors.js';
import { loadManifest, saveManifest, type UploadEntry } from './manifest.js';

export interface UploaderOptions {
  /** Base URL of the central media service, e.g. http://127.0.1.30:8090. */
  centralUrl: string;
  /** Path of the JSON manifest (the persisted queue). */
  manifestPath: string;
  /** Per-request timeout. Default 10000 ms. */
  requestTimeoutMs?: number;
  /** Retry schedule. Default 500 ms doubling up to 30 s, ±20 % jitter. */
  backoff?: BackoffOptions;
  /** Most entries queued; enqueue beyond fails with SERVICE_UNAVAILABLE. Default 10000. */
  maxEntries?: number;
  /** Uploads in flight at once. Default 2. */
  concurrency?: number;
  /** Delete the local WAV once the central service confirmed it. Default false. */
  deleteAfterUpload?: boolean;
  /** Injectable for unit tests. Default global fetch. */
  fetch?: typeof fetch;
  /** Injectable clock (epoch ms). Default Date.now. */
  now?: () => number;
}

export type UploadOutcome = { callSid: string; branchId: string; sha256: string; delivered: true } | { callSid: string; branchId: string; delivered: false; error: string };

const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 500, maxMs: 30_000, factor: 2, jitter: 0.2 };

export class BranchUploader {
  private readonly opts: UploaderOptions;
  private entries: UploadEntry[] = [];
  private readonly inFlight = new Map<string, AbortController>();
  private readonly waiters = new Map<string, ((o: UploadOutcome) => void)[]>();
  private timer: NodeJS.Timeout | undefined;
  private saving: Promise<void> = Promise.resolve();
  private closed = false;
  /** Attempts made by this instance (for tests and metrics). */
  attempts = 0;

  private constructor(opts: UploaderOptions) {
    this.opts = opts;
  }

  /** Load the manifest and start delivering what it holds. */
  static async start(opts: UploaderOptions): Promise<BranchUploader> {
    const u = new BranchUploader(opts);
    // Entries found on start are due now: whatever waited while we were down should go first.
    u.entries = (await loadManifest(opts.manifestPath)).map((e) => (e.state === 'pending' ? { ...e, nextAttemptAt: 0 } : e));
    u.schedule();
    return u;
  }

  /** Entries still queued (pending or failed). */
  list(): readonly UploadEntry[] {
    return this.entries.map((e) => ({ ...e }));
  }

  /** Queue a finished local copy; resolves once the manifest holds it. */
  async enqueue(e: Pick<UploadEntry, 'callSid' | 'branchId' | 'path' | 'sha256' | 'bytes' | 'start' | 'packets' | 'lost'>): Promise<void> {
    if (this.closed) throw new MeshError('CLOSED', 'uploader is closed');
    const key = keyOf(e);
    if (this.entries.some((x) => keyOf(x) === key)) return this.saving; // already queued: idempotent, once the manifest holds it
    if (this.entries.length >= (this.opts.maxEntries ?? 10_000)) {
      throw new MeshError('SERVICE_UNAVAILABLE', `upload queue holds ${this.entries.length} entries`, { retryAfter: 5 });
    }
    this.entries.push({ ...e, state: 'pending', attempts: 0, nextAttemptAt: 0, enqueuedAt: new Date(this.now()).toISOString() });
    await this.persist();
    this.schedule();
  }

  /** Resolves when the branch is delivered, or has failed for good. Call it while the branch is queued. */
  whenSettled(callSid: string, branchId: string): Promise<UploadOutcome> {
    const key = `${callSid}/${branchId}`;
    const e = this.entries.find((x) => keyOf(x) === key);
    if (e?.state === 'failed') return Promise.resolve({ callSid, branchId, delivered: false, error: e.lastError ?? 'failed' });
    return new Promise((resolve) => {
      const list = this.waiters.get(key) ?? [];
      list.push(resolve);
      this.waiters.set(key, list);
    });
  }

  /** Stop retrying and abort uploads in flight; the manifest keeps what is left. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return this.saving;
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    for (const c of this.inFlight.values()) c.abort();
    await this.saving;
  }

  // ------------------------------------------------------------ internals

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  private persist(): Promise<void> {
    // Serialize writes; each one snapshots the current entries.
    this.saving = this.saving.then(() => saveManifest(this.opts.manifestPath, this.entries)).catch(() => undefined);
    return this.saving;
  }

  private schedule(): void {
    if (this.closed) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    const pending = this.entries.filter((e) => e.state === 'pending' && !this.inFlight.has(keyOf(e)));
    if (pending.length === 0) return;
    const next = Math.min(...pending.map((e) => e.nextAttemptAt));
    this.timer = setTimeout(() => this.runDue(), Math.max(0, next - this.now()));
  }

  private runDue(): void {
    this.timer = undefined;
    if (this.closed) return;
    const now = this.now();
    for (const e of this.entries) {
      if (this.inFlight.size >= (this.opts.concurrency ?? 2)) break;
      if (e.state !== 'pending' || e.nextAttemptAt > now || this.inFlight.has(keyOf(e))) continue;
      void this.attempt(e);
    }
    this.schedule();
  }

  private async attempt(e: UploadEntry): Promise<void> {
    const key = keyOf(e);
    const abort = new AbortController();
    this.inFlight.set(key, abort);
    this.attempts++;
    let verdict: 'delivered' | 'retry' | 'failed';
    let error = '';
    try {
      const body = await readFile(e.path);
      const timeout = AbortSignal.timeout(this.opts.requestTimeoutMs ?? 10_000);
      const res = await (this.opts.fetch ?? fetch)(`${this.opts.centralUrl}/branches/${encodeURIComponent(e.callSid)}/${encodeURIComponent(e.branchId)}`, {
        method: 'PUT',
        body,
        headers: {
          'Content-Type': 'audio/wav',
          'X-Content-SHA256': e.sha256,
          ...(e.start === null ? {} : { 'X-Branch-Start': e.start }),
          'X-Branch-Packets': String(e.packets),
          'X-Branch-Lost': String(e.lost),
        },
        signal: AbortSignal.any([abort.signal, timeout]),
      });
      const reply = (await res.json().catch(() => ({}))) as { sha256?: unknown; detail?: { stored?: unknown } };
      if (res.ok && typeof reply.sha256 === 'string' && reply.sha256.toLowerCase() === e.sha256.toLowerCase()) {
        verdict = 'delivered';
      } else if (res.ok) {
        verdict = 'retry';
        error = `central answered ${res.status} without our checksum`;
      } else if (res.status === 409 && reply.detail?.stored !== undefined) {
        verdict = 'failed';
        error = 'central holds a different copy of this branch';
      } else if (res.status === 409 || res.status === 408 || res.status === 429 || res.status >= 500) {
        verdict = 'retry';
        error = `central answered ${res.status}`;
      } else {
        verdict = 'failed';
        error = `central answered ${res.status}`;
      }
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // The local copy is gone: retrying cannot help.
      verdict = code === 'ENOENT' ? 'failed' : 'retry';
      error = (err as Error).message;
    } finally {
      this.inFlight.delete(key);
    }
    if (this.closed && verdict === 'retry') return;
    let outcome: UploadOutcome | undefined;
    if (verdict === 'delivered') {
      this.entries = this.entries.filter((x) => keyOf(x) !== key);
      if (this.opts.deleteAfterUpload === true) await rm(e.path, { force: true });
      outcome = { callSid: e.callSid, branchId: e.branchId, sha256: e.sha256, delivered: true };
    } else if (verdict === 'failed') {
      e.state = 'failed';
      e.lastError = error;
      outcome = { callSid: e.callSid, branchId: e.branchId, delivered: false, error };
    } else {
      e.attempts++;
      e.lastError = error;
      e.nextAttemptAt = this.now() + backoffDelay(e.attempts - 1, { ...DEFAULT_BACKOFF, ...this.opts.backoff });
    }
    // The manifest first: whoever is told "delivered" may rely on the queue on disk no longer holding it.
    await this.persist();
    if (outcome !== undefined) this.settle(key, outcome);
    this.schedule();
  }

  private settle(key: string, outcome: UploadOutcome): void {
    const list = this.waiters.get(key) ?? [];
    this.waiters.delete(key);
    for (const w of list) w(outcome);
  }
}

function keyOf(e: { callSid: string; branchId: string }): string {
  return `${e.callSid}/${e.branchId}`;
}
