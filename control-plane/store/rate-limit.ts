/**
 * Per-account token bucket in Redis, so every API server of a region shares
 * one budget per account. The script refills by elapsed time (Redis clock,
 * so servers' clocks do not matter), takes one token, and answers how long
 * to wait when the bucket is empty.
 */
import type { Redis } from 'ioredis';
import { keys } from '../../regions/store/keys.js';

const TOKEN_BUCKET = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local h = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(h[1]) or burst
local at = tonumber(h[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate / 1000)
local allowed = 0
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  wait = math.ceil((1 - tokens) * 1000 / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1000)
return {allowed, wait}
`;

export interface RateLimitConfig {
  /** Sustained requests per second per account. */
  requestsPerSecond: number;
  /** Bucket size: requests allowed in a burst. */
  burst: number;
}

export interface RateDecision {
  allowed: boolean;
  /** Milliseconds until a token is available (0 when allowed). */
  retryAfterMs: number;
}

export async function takeToken(redis: Redis, prefix: string, accountSid: string, cfg: RateLimitConfig): Promise<RateDecision> {
  const reply = (await redis.eval(TOKEN_BUCKET, 1, keys(prefix).rateLimit(accountSid), cfg.requestsPerSecond, cfg.burst)) as [
    number,
    number,
  ];
  return { allowed: reply[0] === 1, retryAfterMs: reply[1] };
}
