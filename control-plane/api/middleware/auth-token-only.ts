/**
 * Credential operations need the account's own auth token. A request
 * authenticated by an API key is refused (403, 20403) on the Accounts
 * resource (list, create, fetch, update: they render or change credentials
 * and subaccounts), on Keys and on Authorizations, as the 2010-04-01 API
 * refuses standard keys there. So a leaked key can neither read the auth
 * token nor mint more keys, nor grant anyone access.
 */
import type { MiddlewareHandler } from 'hono';
import { apiError } from '../errors.js';
import type { TenantEnv } from '../types.js';

export function authTokenOnly(resource: 'Accounts' | 'Keys' | 'Authorizations'): MiddlewareHandler<TenantEnv> {
  return async (c, next) => {
    if (c.get('principal').keySid !== undefined) {
      throw apiError('FORBIDDEN', `API keys cannot use the ${resource} resource; use the account SID and auth token`, 20403);
    }
    await next();
  };
}
