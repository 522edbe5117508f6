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
