/**
 * Every authenticated API request is billable usage (`api-requests`) of the
 * calling account, written before the request is served, so no response
 * leaves without its record.
 */
import type { MiddlewareHandler } from 'hono';
import { recordUsage } from '../../../regions/store/usage.js';
import type { TenantEnv } from '../types.js';

export function apiRequestUsage(): MiddlewareHandler<TenantEnv> {
  return async (c, next) => {
    const { deps, now } = c.get('api');
    const account = c.get('principal').account;
    await recordUsage(deps.redis, deps.keyPrefix, {
      accountSid: account.sid,
      category: 'api-requests',
      region: account.homeRegion,
      quantity: 1,
      unit: 'requests',
      at: now().getTime(),
    });
    await next();
  };
}
