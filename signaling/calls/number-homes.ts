/**
 * Whose number was dialed, and where it is homed (DESIGN.md "one call, end to
 * end", step 2): dialed number → (account, application, home region) from the
 * tenant data the control plane keeps (`findNumber`), cached per node for a
 * short time so a busy edge does not read Redis on every INVITE, yet a number
 * moved to another home region through the API anchors the next call there
 * within the cache's lifetime on every node, with no restart and no
 * invalidation messages to lose. A signaling node builds it over its one
 * number cache (`number-records.ts`) with `ttlMs: 0`, so a change is seen
 * within one cache lifetime, not two stacked ones.
 *
 * Never fails a call: when the store does not answer (error or timeout) the
 * lookup says "no tenant known", so the caller falls back to the static
 * prefix rules; the outage is logged once, and its end once.
 */
import { MeshError } from '../../regions/core/errors.js';
import type { Logger } from '../../regions/core/log.js';
import { e164Candidates, type IncomingNumberRecord } from '../../regions/store/numbers.js';

/** A tenant's number as call anchoring needs it. */
export interface NumberHome {
  readonly accountSid: string;
  readonly numberSid: string;
  /** VoiceApplicationSid, when the number runs an application. */
  readonly applicationSid: string | undefined;
  /** The number runs an application (VoiceApplicationSid or its own VoiceUrl): the platform answers it. */
  readonly runsApplication: boolean;
  readonly homeRegion: string;
}

/** The seam the B2BUA's mesh routing consults first (b2bua/mesh.ts). */
export interface NumberHomeLookup {
  /** The tenant home of a dialed number; undefined when no tenant owns it, or the store is unreachable. Never rejects. */
  homeOf(dialed: string): Promise<NumberHome | undefined>;
}

export interface NumberHomesOptions {
  /**
   * How long an answer (found or not found) is reused, ms. Bounds how late a
   * change through the API reaches this node (the promise is ≤ 5 s). 0: every
   * call reads the store. Default 2000.
   */
  ttlMs?: number;
  /** Most dialed numbers kept; the oldest entry goes first. Default 10000. */
  maxEntries?: number;
  /** Longest wait for the store before the static rules decide, ms. Default 500. */
  timeoutMs?: number;
}

export const NUMBER_HOMES_DEFAULTS = { ttlMs: 2000, maxEntries: 10_000, timeoutMs: 500 } as const;

/** Reads one dialed number's record; rejects when the store fails. */
export type FindNumber = (dialed: string) => Promise<IncomingNumberRecord | undefined>;

interface Entry {
  readonly home: NumberHome | undefined;
  readonly expiresAt: number;
}

export class NumberHomes implements NumberHomeLookup {
  readonly #find: FindNumber;
  readonly #log: Logger;
  readonly #ttlMs: number;
  readonly #maxEntries: number;
  readonly #timeoutMs: number;
  /** Insertion-ordered: the first key is the oldest, evicted first when full. */
  readonly #cache = new Map<string, Entry>();
  /** Lookups in flight, so a burst of INVITEs to one number reads the store once. */
  readonly #pending = new Map<string, Promise<NumberHome | undefined>>();
  #storeDown = false;
  /** Store reads made (cache misses); for tests and metrics. */
  reads = 0;

  constructor(find: FindNumber, log: Logger, opts: NumberHomesOptions = {}) {
    this.#find = find;
    this.#log = log;
    this.#ttlMs = opts.ttlMs ?? NUMBER_HOMES_DEFAULTS.ttlMs;
    this.#maxEntries = Math.max(1, opts.maxEntries ?? NUMBER_HOMES_DEFAULTS.maxEntries);
    this.#timeoutMs = opts.timeoutMs ?? NUMBER_HOMES_DEFAULTS.timeoutMs;
  }

  get size(): number {
    return this.#cache.size;
  }

  homeOf(dialed: string): Promise<NumberHome | undefined> {
    // One cache entry per number however it was spelled (`+1555…` or `1555…`).
    const key = e164Candidates(dialed)[0];
    if (key === undefined) return Promise.resolve(undefined);
    const hit = this.#cache.get(key);
    if (hit !== undefined) {
      if (hit.expiresAt > Date.now()) return Promise.resolve(hit.home);
      this.#cache.delete(key);
    }
    const inFlight = this.#pending.get(key);
    if (inFlight !== undefined) return inFlight;
    const p = this.#read(key).finally(() => this.#pending.delete(key));
    this.#pending.set(key, p);
    return p;
  }

  /** Forget every answer (e.g. after a bulk change): the next call of each number reads the store. */
  clear(): void {
    this.#cache.clear();
  }

  async #read(key: string): Promise<NumberHome | undefined> {
    this.reads++;
    let record: IncomingNumberRecord | undefined;
    try {
      record = await withTimeout(this.#find(key), this.#timeoutMs);
    } catch (e) {
      // Not cached: the next call tries the store again.
      if (!this.#storeDown) {
        this.#storeDown = true;
        this.#log.warn('tenant numbers unreadable; static home rules decide until the store answers', { error: e as Error });
      }
      return undefined;
    }
    if (this.#storeDown) {
      this.#storeDown = false;
      this.#log.info('tenant numbers readable again');
    }
    const home = toHome(record);
    if (this.#ttlMs > 0) {
      while (this.#cache.size >= this.#maxEntries) {
        const oldest = this.#cache.keys().next().value;
        if (oldest === undefined) break;
        this.#cache.delete(oldest);
      }
      this.#cache.set(key, { home, expiresAt: Date.now() + this.#ttlMs });
    }
    return home;
  }
}

/** A record without a home region (written before numbers had one) is left to the static rules. */
function toHome(r: IncomingNumberRecord | undefined): NumberHome | undefined {
  if (r === undefined || typeof r.homeRegion !== 'string' || r.homeRegion === '') return undefined;
  return {
    accountSid: r.accountSid,
    numberSid: r.sid,
    applicationSid: r.applicationSid,
    runsApplication: r.applicationSid !== undefined || (r.voiceUrl !== undefined && r.voiceUrl !== ''),
    homeRegion: r.homeRegion,
  };
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new MeshError('UPSTREAM_TIMEOUT', `tenant number lookup took over ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e instanceof Error ? e : new MeshError('SERVICE_UNAVAILABLE', String(e)));
      },
    );
  });
}
