/**
 * The media cache: audio for `Play` (fetched over HTTP) and for `Say`
 * (espeak-ng), converted once to the telephony format and kept on disk under
 * a content address — the sha256 of the converted bytes — so any media node
 * process can play the same file. An index maps each URL (or voice+language+
 * text) to its address together with what HTTP caching allows (RFC 9111):
 * fresh entries are served without a request, stale ones with an ETag are
 * revalidated (304 → no fetch, no transcode). Concurrent requests for one key
 * share one fetch; total size is bounded with least-recently-used eviction.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MeshError } from '../../regions/core/errors.js';
import { OPEN_DESTINATION_POLICY, type DestinationPolicy } from '../../regions/net/destination-policy.js';
import { parseCacheControl } from './cache-control.js';
import { fetchMedia } from './http-fetch.js';
import { synthesizeSpeech, synthesizeTone, telephonyDurationMs, transcodeToTelephony } from './transcode.js';

export interface MediaCacheOptions {
  /** Persistent root: `objects/<sha256>.wav`, `index.json`, `tmp/`. */
  dir: string;
  /** Total bytes of stored audio before LRU eviction. Default 1 GiB. */
  maxBytes?: number;
  /** Index entries (URLs + spoken texts) before LRU eviction. Default 10000. */
  maxEntries?: number;
  /** Largest media body fetched. Default 10 MiB. */
  maxFetchBytes?: number;
  /** Time limit of one media fetch. Default 10000 ms. */
  fetchTimeoutMs?: number;
  /** Where Play URLs may be fetched from (after DNS and redirects). Default OPEN_DESTINATION_POLICY; the node passes `webhooks.*`. */
  destinationPolicy?: DestinationPolicy;
  /** Time limit of one conversion or synthesis. Default 30000 ms. */
  transcodeTimeoutMs?: number;
  /** Freshness when a response has no Cache-Control max-age. Default 3600 s. */
  defaultMaxAgeSec?: number;
  /** Longest text spoken. Default 4096 characters. */
  maxTextLength?: number;
  /** Converter; default ffmpeg when installed, else sox. */
  tool?: 'sox' | 'ffmpeg';
  /** Clock, injectable for tests. Default Date.now. */
  now?: () => number;
}

export interface CachedMedia {
  /** Content address: hex sha256 of the telephony-format bytes. */
  address: string;
  /** Absolute path of the 8 kHz mono 16-bit WAV file. */
  path: string;
  bytes: number;
  durationMs: number;
  /** How this request was served. */
  outcome: 'hit' | 'fetched' | 'revalidated' | 'synthesized';
}

export interface MediaCacheStats {
  hits: number;
  fetches: number;
  notModified: number;
  transcodes: number;
  syntheses: number;
  evictions: number;
}

interface Entry {
  address: string;
  /** Epoch ms until which the entry is served without asking the origin. */
  expiresAt: number;
  etag: string | undefined;
  /** sha256 of the source bytes, so an unchanged body is not transcoded again. */
  sourceHash: string | undefined;
}

interface ObjectInfo {
  bytes: number;
  durationMs: number;
  refs: number;
}

interface StoredObject {
  address: string;
  bytes: number;
  durationMs: number;
}

interface IndexFile {
  version: 1;
  entries: [string, Entry][];
  objects: [string, { bytes: number; durationMs: number }][];
}

export class MediaCache {
  readonly stats: MediaCacheStats = { hits: 0, fetches: 0, notModified: 0, transcodes: 0, syntheses: 0, evictions: 0 };
  /** Keys in least-recently-used order (Map insertion order). */
  private readonly entries = new Map<string, Entry>();
  private readonly objects = new Map<string, ObjectInfo>();
  private readonly inflight = new Map<string, Promise<CachedMedia>>();
  private totalBytes = 0;
  private persisting: Promise<void> = Promise.resolve();
  /** File removals in progress (evicted objects); close() waits for them. */
  private readonly removals = new Set<Promise<void>>();
  private closing: Promise<void> | undefined;
  private readonly o: Required<Omit<MediaCacheOptions, 'tool'>> & { tool: 'sox' | 'ffmpeg' | undefined };

  private constructor(opts: MediaCacheOptions) {
    this.o = {
      dir: opts.dir,
      maxBytes: opts.maxBytes ?? 1024 ** 3,
      maxEntries: opts.maxEntries ?? 10_000,
      maxFetchBytes: opts.maxFetchBytes ?? 10 * 1024 * 1024,
      fetchTimeoutMs: opts.fetchTimeoutMs ?? 10_000,
      destinationPolicy: opts.destinationPolicy ?? OPEN_DESTINATION_POLICY,
      transcodeTimeoutMs: opts.transcodeTimeoutMs ?? 30_000,
      defaultMaxAgeSec: opts.defaultMaxAgeSec ?? 3600,
      maxTextLength: opts.maxTextLength ?? 4096,
      tool: opts.tool,
      now: opts.now ?? Date.now,
    };
  }

  /** Open (or create) a cache directory, loading its index. */
  static async open(opts: MediaCacheOptions): Promise<MediaCache> {
    const c = new MediaCache(opts);
    await mkdir(join(opts.dir, 'objects'), { recursive: true });
    await mkdir(join(opts.dir, 'tmp'), { recursive: true });
    await c.load();
    return c;
  }

  get sizeBytes(): number {
    return this.totalBytes;
  }

  get entryCount(): number {
    return this.entries.size;
  }

  /** Path of an object by its content address. */
  pathOf(address: string): string {
    return join(this.o.dir, 'objects', `${address}.wav`);
  }

  /** Audio of a `Play` URL in telephony format. */
  async getUrl(url: string): Promise<CachedMedia> {
    return this.singleFlight(`url:${url}`, () => this.loadUrl(url));
  }

  /** Spoken text in telephony format, cached by voice + language + text. */
  async getSpeech(text: string, voice = 'man', language = 'en-US'): Promise<CachedMedia> {
    if (text.length === 0 || text.length > this.o.maxTextLength) {
      throw new MeshError('BAD_REQUEST', `speech text must be 1..${this.o.maxTextLength} characters`);
    }
    const key = `tts:${sha256(`${voice}\0${language}\0${text}`)}`;
    return this.singleFlight(key, () => this.loadSpeech(key, text, voice, language));
  }

  /** The beep `Record` plays before it listens: 500 ms of 1 kHz, made once with sox and cached like speech. */
  async getBeep(): Promise<CachedMedia> {
    const key = 'tone:beep-1000hz-500ms';
    return this.singleFlight(key, async () => {
      const cached = this.usable(key);
      if (cached !== undefined) {
        this.stats.hits++;
        return this.result(key, cached.address, 'hit');
      }
      const wav = await synthesizeTone({ hz: 1000, seconds: 0.5, tmpDir: join(this.o.dir, 'tmp'), timeoutMs: this.o.transcodeTimeoutMs });
      const stored = await this.writeObject(wav);
      this.setEntry(key, { address: stored.address, expiresAt: Number.MAX_SAFE_INTEGER, etag: undefined, sourceHash: undefined }, stored);
      return this.result(key, stored.address, 'synthesized');
    });
  }

  /** Stop taking requests, wait for those in flight, write the index. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.allSettled([...this.inflight.values()]);
      await Promise.allSettled([...this.removals]);
      await this.persist();
    })();
    return this.closing;
  }

  private singleFlight(key: string, load: () => Promise<CachedMedia>): Promise<CachedMedia> {
    if (this.closing !== undefined) return Promise.reject(new MeshError('CLOSED', 'media cache is closed'));
    const pending = this.inflight.get(key);
    if (pending !== undefined) return pending;
    const p = load().finally(() => this.inflight.delete(key));
    this.inflight.set(key, p);
    return p;
  }

  private async loadUrl(url: string, conditional = true): Promise<CachedMedia> {
    const key = `url:${url}`;
    const now = this.o.now();
    const cached = conditional ? this.usable(key) : undefined;
    if (cached !== undefined && now < cached.expiresAt) {
      this.stats.hits++;
      return this.result(key, cached.address, 'hit');
    }
    this.stats.fetches++;
    const r = await fetchMedia(url, {
      timeoutMs: this.o.fetchTimeoutMs,
      maxBytes: this.o.maxFetchBytes,
      etag: cached?.etag,
      policy: this.o.destinationPolicy,
    });
    if (r.status === 'not-modified') {
      if (cached === undefined) throw new MeshError('BAD_GATEWAY', `media ${url}: 304 to an unconditional request`);
      // Evicted while we were asking: fetch it whole.
      if (!this.objects.has(cached.address)) return this.loadUrl(url, false);
      this.stats.notModified++;
      const pol = parseCacheControl(r.cacheControl);
      cached.expiresAt = pol.noCache || pol.noStore ? 0 : now + (pol.maxAge ?? this.o.defaultMaxAgeSec) * 1000;
      if (r.etag !== undefined) cached.etag = r.etag;
      if (this.entries.get(key) !== cached) this.setEntry(key, cached);
      else this.schedulePersist();
      return this.result(key, cached.address, 'revalidated');
    }
    const sourceHash = sha256(r.body);
    let stored: StoredObject | undefined;
    let address = this.addressBySource(sourceHash);
    if (address === undefined) {
      const wav = await transcodeToTelephony(r.body, { tmpDir: join(this.o.dir, 'tmp'), timeoutMs: this.o.transcodeTimeoutMs, ...(this.o.tool ? { tool: this.o.tool } : {}) });
      this.stats.transcodes++;
      stored = await this.writeObject(wav);
      address = stored.address;
    }
    const pol = parseCacheControl(r.cacheControl);
    // no-store: keep nothing that would serve the next request (RFC 9111 §5.2.2.5);
    // no-cache: keep, but revalidate before each use (§5.2.2.4).
    const expiresAt = pol.noStore || pol.noCache ? 0 : now + (pol.maxAge ?? this.o.defaultMaxAgeSec) * 1000;
    this.setEntry(key, { address, expiresAt, etag: pol.noStore ? undefined : r.etag, sourceHash: pol.noStore ? undefined : sourceHash }, stored);
    return this.result(key, address, 'fetched');
  }

  private async loadSpeech(key: string, text: string, voice: string, language: string): Promise<CachedMedia> {
    const cached = this.usable(key);
    if (cached !== undefined) {
      this.stats.hits++;
      return this.result(key, cached.address, 'hit');
    }
    const wav = await synthesizeSpeech(text, {
      voice,
      language,
      tmpDir: join(this.o.dir, 'tmp'),
      timeoutMs: this.o.transcodeTimeoutMs,
      ...(this.o.tool ? { tool: this.o.tool } : {}),
    });
    this.stats.syntheses++;
    const stored = await this.writeObject(wav);
    this.setEntry(key, { address: stored.address, expiresAt: Number.MAX_SAFE_INTEGER, etag: undefined, sourceHash: undefined }, stored);
    return this.result(key, stored.address, 'synthesized');
  }

  /** The entry of a key if its object is still on disk; touches it (LRU). */
  private usable(key: string): Entry | undefined {
    const e = this.entries.get(key);
    if (e === undefined) return undefined;
    if (!this.objects.has(e.address) || !existsSync(this.pathOf(e.address))) {
      this.removeEntry(key);
      return undefined;
    }
    this.entries.delete(key);
    this.entries.set(key, e);
    return e;
  }

  private addressBySource(sourceHash: string): string | undefined {
    for (const e of this.entries.values()) if (e.sourceHash === sourceHash && this.objects.has(e.address)) return e.address;
    return undefined;
  }

  /** Write the object file under its content address; registered by setEntry. */
  private async writeObject(wav: Buffer): Promise<StoredObject> {
    const address = sha256(wav);
    const path = this.pathOf(address);
    // Always (re)write: an object dropped by eviction while we converted may be mid-unlink.
    const tmp = join(this.o.dir, 'tmp', `${address}.${process.pid}.${Math.random().toString(36).slice(2)}`);
    await writeFile(tmp, wav);
    await rename(tmp, path); // atomic: a reader never sees half a file
    return { address, bytes: wav.length, durationMs: telephonyDurationMs(wav) };
  }

  /** Point `key` at an object (registering a freshly written one) and evict beyond the bound. Synchronous by design. */
  private setEntry(key: string, e: Entry, stored?: StoredObject): void {
    if (stored !== undefined && !this.objects.has(stored.address)) {
      this.objects.set(stored.address, { bytes: stored.bytes, durationMs: stored.durationMs, refs: 0 });
      this.totalBytes += stored.bytes;
    }
    if (this.entries.has(key)) this.removeEntry(key, false);
    this.entries.set(key, e);
    this.objects.get(e.address)!.refs++;
    this.evict(key);
    this.schedulePersist();
  }

  private removeEntry(key: string, dropObject = true): void {
    const e = this.entries.get(key);
    if (e === undefined) return;
    this.entries.delete(key);
    const obj = this.objects.get(e.address);
    if (obj === undefined) return;
    obj.refs--;
    if (obj.refs <= 0 && dropObject) this.dropObject(e.address);
  }

  private dropObject(address: string): void {
    const obj = this.objects.get(address);
    if (obj === undefined) return;
    this.objects.delete(address);
    this.totalBytes -= obj.bytes;
    const p = rm(this.pathOf(address), { force: true })
      .catch(() => undefined)
      .finally(() => this.removals.delete(p));
    this.removals.add(p);
  }

  /** Evict least recently used entries (never `keep`) until the size bound holds. */
  private evict(keep: string): void {
    for (const [address, obj] of this.objects) if (obj.refs <= 0) this.dropObject(address);
    for (const key of [...this.entries.keys()]) {
      if (this.totalBytes <= this.o.maxBytes && this.entries.size <= this.o.maxEntries) break;
      if (key === keep) continue;
      this.removeEntry(key);
      this.stats.evictions++;
    }
  }

  private result(key: string, address: string, outcome: CachedMedia['outcome']): CachedMedia {
    const obj = this.objects.get(address);
    if (obj === undefined) throw new MeshError('INTERNAL', `media cache lost object ${address} of ${key}`);
    return { address, path: this.pathOf(address), bytes: obj.bytes, durationMs: obj.durationMs, outcome };
  }

  private schedulePersist(): void {
    void this.persist().catch(() => undefined);
  }

  /** Write the index atomically; writes are serialized. */
  private persist(): Promise<void> {
    this.persisting = this.persisting.catch(() => undefined).then(async () => {
      const data: IndexFile = {
        version: 1,
        entries: [...this.entries],
        objects: [...this.objects].map(([a, o]) => [a, { bytes: o.bytes, durationMs: o.durationMs }]),
      };
      const tmp = join(this.o.dir, 'tmp', `index.${process.pid}.json`);
      await writeFile(tmp, JSON.stringify(data));
      await rename(tmp, join(this.o.dir, 'index.json'));
    });
    return this.persisting;
  }

  private async load(): Promise<void> {
    let data: IndexFile;
    try {
      data = JSON.parse(await readFile(join(this.o.dir, 'index.json'), 'utf8')) as IndexFile;
    } catch {
      return; // no index yet, or unreadable: start empty (objects are re-made on demand)
    }
    if (data.version !== 1 || !Array.isArray(data.entries) || !Array.isArray(data.objects)) return;
    for (const [address, o] of data.objects) {
      if (!/^[0-9a-f]{64}$/.test(address) || !existsSync(this.pathOf(address))) continue;
      this.objects.set(address, { bytes: o.bytes, durationMs: o.durationMs, refs: 0 });
      this.totalBytes += o.bytes;
    }
    for (const [key, e] of data.entries) {
      if (typeof key !== 'string' || typeof e?.address !== 'string' || typeof e.expiresAt !== 'number') continue;
      const obj = this.objects.get(e.address);
      if (obj === undefined) continue;
      this.entries.set(key, e);
      obj.refs++;
    }
  }
}

function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
