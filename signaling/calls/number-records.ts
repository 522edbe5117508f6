/**
 * Dialed number → its IncomingPhoneNumber record, cached per node for a short
 * time. Every new INVITE asks which application runs the dialed number
 * (`app-resolver.ts`) and every ended call asks whose number it was
 * (`inbound-accounting.ts`); without a cache each is a Redis round trip, and
 * the first one sits on the INVITE → 200 path. A change through the API
 * (number bought, released, given an application) reaches this node within
 * the cache's lifetime, as for number homes (`number-homes.ts`).
 *
 * A store error is not cached: it rejects, and the next lookup reads again.
 * Concurrent lookups of one number read the store once.
 */
import { e164Candidates, type IncomingNumberRecord } from '../../regions/store/numbers.js';

/** Reads one dialed number's record; rejects when the store fails. */
export type FindNumberRecord = (dialed: string) => Promise<IncomingNumberRecord | undefined>;

export interface NumberRecordsOptions {
  /** How long an answer (found or not found) is reused, ms. 0: every lookup reads the store. Default 2000. */
  ttlMs?: number;
  /** Most numbers kept; the oldest entry goes first. Default 10000. */
  maxEntries?: number;
  /** The clock (tests). Default Date.now. */
  now?: () => number;
}

export const NUMBER_RECORDS_DEFAULTS = { ttlMs: 2000, maxEntries: 10_000 } as const;

interface Entry {
  readonly record: IncomingNumberRecord | undefined;
  readonly expiresAt: number;
}

export class NumberRecords {
  readonly #find: FindNumberRecord;
  readonly #ttlMs: number;
  readonly #maxEntries: number;
  readonly #now: () => number;
  /** Insertion-ordered: the first key is the oldest, evicted first when full. */
  readonly #cache = new Map<string, Entry>();
  readonly #pending = new Map<string, Promise<IncomingNumberRecord | undefined>>();
  /** Store reads made (cache misses); for tests and metrics. */
  reads = 0;

  constructor(find: FindNumberRecord, opts: NumberRecordsOptions = {}) {
    this.#find = find;
    this.#ttlMs = Math.max(0, opts.ttlMs ?? NUMBER_RECORDS_DEFAULTS.ttlMs);
    this.#maxEntries = Math.max(1, opts.maxEntries ?? NUMBER_RECORDS_DEFAULTS.maxEntries);
    this.#now = opts.now ?? Date.now;
  }

  get size(): number {
    return this.#cache.size;
  }

  /** The record of `dialed` (with or without its `+`), or undefined when no tenant owns it. Rejects when the store fails. */
  find(dialed: string): Promise<IncomingNumberRecord | undefined> {
    // One entry per number however it was spelled; the store lookup tries both spellings.
    const key = e164Candidates(dialed)[0];
    if (key === undefined) return Promise.resolve(undefined);
    const hit = this.#cache.get(key);
    if (hit !== undefined) {
      if (hit.expiresAt > this.#now()) return Promise.resolve(hit.record);
      this.#cache.delete(key);
    }
    const inFlight = this.#pending.get(key);
    if (inFlight !== undefined) return inFlight;
    const p = this.#read(dialed, key).finally(() => this.#pending.delete(key));
    this.#pending.set(key, p);
    return p;
  }

  /** Forget every answer: the next lookup of each number reads the store. */
  clear(): void {
    this.#cache.clear();
  }

  async #read(dialed: string, key: string): Promise<IncomingNumberRecord | undefined> {
    this.reads++;
    const record = await this.#find(dialed);
    if (this.#ttlMs > 0) {
      while (this.#cache.size >= this.#maxEntries) {
        const oldest = this.#cache.keys().next().value;
        if (oldest === undefined) break;
        this.#cache.delete(oldest);
      }
      this.#cache.set(key, { record, expiresAt: this.#now() + this.#ttlMs });
    }
    return record;
  }
}
