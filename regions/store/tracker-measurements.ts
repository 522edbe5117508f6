/**
 * Tracker measurements, kept incrementally: when a tagged call ends, each
 * tracker it matches (trackers.ts `matchingTrackers`) gets the call's
 * increments (tracker-math.ts) in its bucket of the hour and of the day the
 * call started, both fields of one hash per tracker and UTC day
 * (`trackerDay` of keys.ts: `HH|counter` and `d|counter`), which expires
 * `RETENTION_DAYS` after its last write. Reading a range is one HMGET
 * (days) or HGETALL (hours) per day, never a scan of call records.
 */
import type { Redis } from 'ioredis';
import type { CallRecord } from './call-records.js';
import { keys } from './keys.js';
import { matchingTrackers } from './trackers.js';
import { addTotals, BUCKET_FIELDS, RETENTION_DAYS, bucketIncrements, callSample, emptyTotals, totalsFromFields, type MeasurementTotals } from './tracker-math.js';

/** Longest range one Measurements request reads: days at day granularity, days at hour granularity. */
export const MAX_RANGE_DAYS = { day: 366, hour: 31 } as const;

export { RETENTION_DAYS };

export type Granularity = 'hour' | 'day';

const DAY_SCOPE = 'd';

/** UTC day (YYYY-MM-DD) and hour (HH) of a time. */
function dayAndHour(ms: number): [string, string] {
  const iso = new Date(ms).toISOString();
  return [iso.slice(0, 10), iso.slice(11, 13)];
}

/**
 * Counts an ended call in every tracker it matches. Calls without tags,
 * or without a start time, count nowhere. Resolves to the trackers counted.
 */
export async function recordTrackedCall(redis: Redis, prefix: string, rec: CallRecord): Promise<string[]> {
  const tags = rec.tags ?? [];
  if (tags.length === 0) return [];
  const sample = callSample(rec);
  if (!Number.isFinite(sample.at)) return [];
  const trackers = await matchingTrackers(redis, prefix, rec.accountSid, tags);
  if (trackers.length === 0) return [];
  const k = keys(prefix);
  const [day, hour] = dayAndHour(sample.at);
  const { counters, price } = bucketIncrements(sample);
  const tx = redis.multi();
  for (const t of trackers) {
    const key = k.trackerDay(t.sid, day);
    for (const scope of [hour, DAY_SCOPE]) {
      for (const [field, n] of Object.entries(counters)) tx.hincrby(key, `${scope}|${field}`, n);
      if (price !== undefined) tx.hincrbyfloat(key, `${scope}|price`, price);
    }
    tx.expire(key, RETENTION_DAYS * 86_400);
  }
  await tx.exec();
  return trackers.map((t) => t.sid);
}

/** Every UTC day from `startDay` to `endDay` inclusive (YYYY-MM-DD). */
export function daysBetween(startDay: string, endDay: string): string[] {
  const out: string[] = [];
  for (let t = Date.parse(`${startDay}T00:00:00Z`), end = Date.parse(`${endDay}T00:00:00Z`); t <= end; t += 86_400_000) {
    out.push(new Date(t).toISOString().slice(0, 10));
  }
  return out;
}

/**
 * The day-bucket keys a tracker created at `createdMs` may have written up to
 * `nowMs` (at most RETENTION_DAYS + 1). A call lands on the day it started,
 * which may be the day before the tracker existed (it ended after).
 */
export function trackerDayKeys(prefix: string, trackerSid: string, createdMs: number, nowMs: number): string[] {
  const from = Math.max(createdMs - 86_400_000, nowMs - RETENTION_DAYS * 86_400_000);
  const k = keys(prefix);
  return daysBetween(dayAndHour(from)[0], dayAndHour(nowMs)[0]).map((d) => k.trackerDay(trackerSid, d));
}

export interface MeasurementBucket {
  /** ISO time the bucket starts (an hour or a UTC day); it ends one hour or day later. */
  start: string;
  end: string;
  totals: MeasurementTotals;
}

/**
 * The tracker's buckets from `startDay` to `endDay` (inclusive, UTC), one
 * per hour or per day, empty ones included, oldest first. The caller
 * bounds the range (MAX_RANGE_DAYS).
 */
export async function readMeasurements(redis: Redis, prefix: string, trackerSid: string, startDay: string, endDay: string, granularity: Granularity): Promise<MeasurementBucket[]> {
  const k = keys(prefix);
  const days = daysBetween(startDay, endDay);
  const pipeline = redis.pipeline();
  const dayFields = BUCKET_FIELDS.map((f) => `${DAY_SCOPE}|${f}`);
  for (const day of days) {
    if (granularity === 'day') pipeline.hmget(k.trackerDay(trackerSid, day), ...dayFields);
    else pipeline.hgetall(k.trackerDay(trackerSid, day));
  }
  const results = (await pipeline.exec()) ?? [];
  const buckets: MeasurementBucket[] = [];
  days.forEach((day, i) => {
    const [err, value] = results[i] ?? [null, null];
    if (err) throw err;
    const dayStart = Date.parse(`${day}T00:00:00Z`);
    if (granularity === 'day') {
      const values = (value ?? []) as (string | null)[];
      const totals = totalsFromFields((f) => values[BUCKET_FIELDS.indexOf(f)]);
      buckets.push({ start: new Date(dayStart).toISOString(), end: new Date(dayStart + 86_400_000).toISOString(), totals });
      return;
    }
    const hash = (value ?? {}) as Record<string, string>;
    for (let h = 0; h < 24; h++) {
      const hh = String(h).padStart(2, '0');
      const start = dayStart + h * 3_600_000;
      buckets.push({ start: new Date(start).toISOString(), end: new Date(start + 3_600_000).toISOString(), totals: totalsFromFields((f) => hash[`${hh}|${f}`]) });
    }
  });
  return buckets;
}

/** The sum of some buckets (the range's totals). */
export function sumBuckets(buckets: readonly MeasurementBucket[]): MeasurementTotals {
  return buckets.reduce((acc, b) => addTotals(acc, b.totals), emptyTotals());
}
