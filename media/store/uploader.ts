/**
 * Delivers locally stored branch copies to the home region's central media
 * service after the call: `PUT {centralUrl}/branches/{callSid}/{branchId}`
 * with the WAV and its `X-Content-SHA256`, retried with capped exponential
 * backoff until the service answers 2xx with the same checksum. The queue is
 * a manifest on disk (see manifest.ts), so a link cut or an edge restart only
 * delays delivery.
 *
 * Each entry may name its own central service (`centralUrl`): an edge serves
 * tenants of several home regions, and the home region's service tells the
 * edge where to upload when the branch is set up. The uploader's own
 * `centralUrl` is the fallback for entries that name none.
 *
 * `onDelivered` runs once the central service confirmed, before the entry
 * leaves the queue (usage is written before the thing it accounts for is
 * acknowledged); if it throws, the entry stays queued and the upload is
 * repeated later, which the central service answers idempotently.
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
  /** Base URL of the central media service for entries that name none, e.g. http://127.0.1.30:8090. Default none. */
  centralUrl?: string;
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
  /** Told (and awaited) when the central service confirmed an entry, before it leaves the queue; a throw keeps it queued. Default none. */
  onDelivered?: (entry: UploadEntry) => void | Promise<void>;
}

/** What enqueue() takes: a finished local copy and where it goes. */
export type UploadRequest = Pick<UploadEntry, 'callSid' | 'branchId' | 'path' | 'sha256' | 'bytes' | 'start' | 'packets' | 'lost'> &
  Partial<Pick<UploadEntry, 'centralUrl' | 'accountSid'>>;

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
  async enqueue(e: UploadRequest): Promise<void> {
    if (this.closed) throw new MeshError('CLOSED', 'uploader is closed');
    const url = e.centralUrl ?? this.opts.centralUrl;
    if (url === undefined) throw new MeshError('BAD_REQUEST', `no central media service URL for branch ${e.callSid}/${e.branchId}`);
    if (!isHttpUrl(url)) throw new MeshError('BAD_REQUEST', `central media service URL "${url.slice(0, 200)}" is not an http(s) URL`);
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

  /**
   * Make every pending entry due now (e.g. the region link just came back, so
   * the home region is reachable again): no need to sit out the backoff.
   */
  retryNow(): void {
    if (this.closed) return;
    for (const e of this.entries) if (e.state === 'pending') e.nextAttemptAt = 0;
    this.schedule();
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
      ({ verdict, error } = await this.upload(e, abort.signal));
      if (verdict === 'delivered' && this.opts.onDelivered !== undefined) {
        try {
          await this.opts.onDelivered({ ...e });
        } catch (err) {
          // Confirmed, but not yet accounted: keep it queued; the repeat is answered idempotently.
          verdict = 'retry';
          error = `delivered, but onDelivered failed: ${(err as Error).message}`;
        }
      }
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

  /** One PUT of one entry, classified. */
  private async upload(e: UploadEntry, abort: AbortSignal): Promise<{ verdict: 'delivered' | 'retry' | 'failed'; error: string }> {
    const base = e.centralUrl ?? this.opts.centralUrl;
    if (base === undefined) return { verdict: 'failed', error: 'no central media service URL' };
    try {
      const body = await readFile(e.path);
      const timeout = AbortSignal.timeout(this.opts.requestTimeoutMs ?? 10_000);
      const res = await (this.opts.fetch ?? fetch)(`${base.replace(/\/+$/, '')}/branches/${encodeURIComponent(e.callSid)}/${encodeURIComponent(e.branchId)}`, {
        method: 'PUT',
        body,
        headers: {
          'Content-Type': 'audio/wav',
          'X-Content-SHA256': e.sha256,
          ...(e.start === null ? {} : { 'X-Branch-Start': e.start }),
          'X-Branch-Packets': String(e.packets),
          'X-Branch-Lost': String(e.lost),
        },
        signal: AbortSignal.any([abort, timeout]),
      });
      const reply = (await res.json().catch(() => ({}))) as { sha256?: unknown; detail?: { stored?: unknown } };
      if (res.ok && typeof reply.sha256 === 'string' && reply.sha256.toLowerCase() === e.sha256.toLowerCase()) return { verdict: 'delivered', error: '' };
      if (res.ok) return { verdict: 'retry', error: `central answered ${res.status} without our checksum` };
      if (res.status === 409 && reply.detail?.stored !== undefined) return { verdict: 'failed', error: 'central holds a different copy of this branch' };
      if (res.status === 409 || res.status === 408 || res.status === 429 || res.status >= 500) return { verdict: 'retry', error: `central answered ${res.status}` };
      return { verdict: 'failed', error: `central answered ${res.status}` };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // The local copy is gone: retrying cannot help.
      return { verdict: code === 'ENOENT' ? 'failed' : 'retry', error: (err as Error).message };
    }
  }

  private settle(key: string, outcome: UploadOutcome): void {
    const list = this.waiters.get(key) ?? [];
    this.waiters.delete(key);
    for (const w of list) w(outcome);
  }
}

function isHttpUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}

function keyOf(e: { callSid: string; branchId: string }): string {
  return `${e.callSid}/${e.branchId}`;
}
