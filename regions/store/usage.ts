/**
 * Usage accounting: one counter per account × category × region × day, so
 * totals per period are a hash scan and roll-ups to the parent add children.
 * Written before the thing it accounts for is acknowledged.
 */
import type { Redis } from 'ioredis';
import { keys, type UsageEvent } from './schema.js';

/** Hash field of a usage counter: `category|region|YYYY-MM-DD`. */
export function usageField(e: Pick<UsageEvent, 'category' | 'region' | 'at'>): string {
  return `${e.category}|${e.region}|${new Date(e.at).toISOString().slice(0, 10)}`;
}

export async function recordUsage(redis: Redis, prefix: string, e: UsageEvent): Promise<void> {
  await redis.hincrbyfloat(keys(prefix).usage(e.accountSid), usageField(e), e.quantity);
}

/** Call minutes of an answered call: each started minute counts, at least one (the API's rounding). */
export function recordCallMinutes(
  redis: Redis,
  prefix: string,
  c: { accountSid: string; category: 'calls-inbound' | 'calls-outbound'; region: string; durationS: number; at: number },
): Promise<void> {
  return recordUsage(redis, prefix, { accountSid: c.accountSid, category: c.category, region: c.region, quantity: Math.max(1, Math.ceil(c.durationS / 60)), unit: 'minutes', at: c.at });
}
