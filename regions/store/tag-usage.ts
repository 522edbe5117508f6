/**
 * Usage by tag (our extension): the call minutes of tagged calls, kept per
 * account × category × region × UTC day × tag beside the plain usage
 * counters (usage.ts), in their own hash (`usageByTag` of keys.ts, field
 * `category|region|YYYY-MM-DD|tag`) so the plain report never reads them.
 * Written when a tagged answered call ends, with the same rounding as its
 * minutes (each started minute, at least one); Usage/Records `Tag=` reads
 * them. A call adds to each of its tags (at most MAX_CALL_TAGS fields).
 */
import type { Redis } from 'ioredis';
import type { CallRecord } from './call-records.js';
import { keys } from './keys.js';
import { usageDay, type CallMinutesCategory, type UsageCategory, type UsageRow } from './usage.js';

const CALL_MINUTES_CATEGORIES: readonly CallMinutesCategory[] = ['calls-inbound', 'calls-outbound', 'calls-client'];

/** Adds an ended call's minutes under each of its tags; nothing for an untagged or unanswered call. */
export async function recordTaggedMinutes(redis: Redis, prefix: string, rec: CallRecord, c: { category: CallMinutesCategory; region: string; at: number }): Promise<void> {
  const tags = rec.tags ?? [];
  if (tags.length === 0 || rec.status !== 'completed') return;
  const minutes = Math.max(1, Math.ceil((rec.duration ?? 0) / 60));
  const key = keys(prefix).usageByTag(rec.accountSid);
  const tx = redis.multi();
  for (const tag of tags) tx.hincrbyfloat(key, `${c.category}|${c.region}|${usageDay(c.at)}|${tag}`, minutes);
  await tx.exec();
}

/** The usage rows of `tag` of some accounts (one HGETALL each, pipelined), in the plain report's shape. */
export async function readTagUsageRows(redis: Redis, prefix: string, accountSids: string[], tag: string): Promise<UsageRow[]> {
  if (accountSids.length === 0) return [];
  const k = keys(prefix);
  const pipeline = redis.pipeline();
  for (const sid of accountSids) pipeline.hgetall(k.usageByTag(sid));
  const results = (await pipeline.exec()) ?? [];
  const rows: UsageRow[] = [];
  results.forEach(([err, hash], i) => {
    if (err !== null) throw err;
    for (const [field, value] of Object.entries(hash as Record<string, string>)) {
      const [category, region, day, t] = field.split('|');
      if (t !== tag || region === undefined || day === undefined || category === undefined || !(CALL_MINUTES_CATEGORIES as readonly string[]).includes(category)) continue;
      // Tag usage counts minutes only: whatever price a usage row may carry is zero here.
      rows.push({ accountSid: accountSids[i] as string, category: category as UsageCategory, region, day, quantity: Number(value), priceMicros: 0 } as UsageRow);
    }
  });
  return rows;
}
