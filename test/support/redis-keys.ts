/** Test set-up: a rerun against the same Redis starts from nothing (numbers, queue names are unique). */
import { Redis } from 'ioredis';

export async function clearKeys(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url);
  try {
    const stale = await redis.keys(`${prefix}*`);
    if (stale.length > 0) await redis.del(...stale);
  } finally {
    redis.disconnect();
  }
}
