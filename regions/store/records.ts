/**
 * JSON record helpers shared by the repositories: read one or many records
 * and page through a creation-time index (newest first, as the API lists).
 */
import type { Redis } from 'ioredis';
import { isSid, type SidPrefix } from './sids.js';

export async function readJson<T>(redis: Redis, key: string): Promise<T | undefined> {
  const raw = await redis.get(key);
  return raw === null ? undefined : (JSON.parse(raw) as T);
}

export async function readJsonMany<T>(redis: Redis, keys: string[]): Promise<(T | undefined)[]> {
  if (keys.length === 0) return [];
  const raws = await redis.mget(...keys);
  return raws.map((raw) => (raw === null ? undefined : (JSON.parse(raw) as T)));
}

/**
 * Records by SID, in the order asked: a SID that is not of kind `prefix`
 * never becomes a key (it reads as absent), so outside input cannot name
 * another record's key.
 */
export async function readSidsMany<T>(redis: Redis, prefix: SidPrefix, sids: string[], keyOf: (sid: string) => string): Promise<(T | undefined)[]> {
  const valid = sids.filter((s) => isSid(s, prefix));
  const records = await readJsonMany<T>(redis, valid.map(keyOf));
  const found = new Map(valid.map((s, i) => [s, records[i]]));
  return sids.map((s) => found.get(s));
}

export interface PageQuery<T> {
  /** Matches to skip (Page × PageSize). */
  offset: number;
  size: number;
  filter?: (record: T) => boolean;
}

export interface PageResult<T> {
  items: T[];
  hasMore: boolean;
}

/** Filtered listing scans at most this many index entries, so one request stays bounded. */
export const MAX_SCAN = 20_000;
const SCAN_CHUNK = 250;

/**
 * One page of an index (sorted set of SIDs scored by creation ms), newest
 * first. Without a filter it reads exactly the page; with one it scans the
 * index in chunks until the page is full or MAX_SCAN entries were seen.
 */
export async function pageIndex<T>(
  redis: Redis,
  indexKey: string,
  load: (sids: string[]) => Promise<(T | undefined)[]>,
  q: PageQuery<T>,
): Promise<PageResult<T>> {
  if (q.filter === undefined) {
    const sids = await redis.zrevrange(indexKey, q.offset, q.offset + q.size);
    const records = (await load(sids)).filter((r): r is T => r !== undefined);
    return { items: records.slice(0, q.size), hasMore: sids.length > q.size };
  }
  const items: T[] = [];
  let skipped = 0;
  for (let start = 0; start < MAX_SCAN; start += SCAN_CHUNK) {
    const sids = await redis.zrevrange(indexKey, start, start + SCAN_CHUNK - 1);
    if (sids.length === 0) break;
    for (const record of await load(sids)) {
      if (record === undefined || !q.filter(record)) continue;
      if (skipped < q.offset) {
        skipped++;
        continue;
      }
      if (items.length === q.size) return { items, hasMore: true };
      items.push(record);
    }
    if (sids.length < SCAN_CHUNK) break;
  }
  return { items, hasMore: false };
}
