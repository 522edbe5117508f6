/** Per-account request budget (token bucket in Redis), answered with 429 + Retry-After when spent. */
import type { MiddlewareHandler } from 'hono';
import { takeToken, type RateLimitConfig } from '../../store/rate-limit.js';
import { MeshError } from '../../../regions/core/errors.js';
import type { TenantEnv } from '../types.js';

export function rateLimit(cfg: RateLimitConfig): MiddlewareHandler<TenantEnv> {
  return async (c, next) => {
    const { deps } = c.get('api');
    const decision = await takeToken(deps.redis, deps.keyPrefix, c.get('principal').account.sid, cfg);
    if (!decision.allowed) {
      throw new MeshError('RATE_LIMITED', 'Too many requests', {
        retryAfter: Math.max(1, Math.ceil(decision.retryAfterMs / 1000)),
        detail: { apiCode: 20429 },
      });
    }
    await next();
  };
}
