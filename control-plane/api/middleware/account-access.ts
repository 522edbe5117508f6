/**
 * Resolves the account named in /2010-04-01/Accounts/{AccountSid}/… and
 * applies decideAccess before any handler runs, so no route can forget it.
 */
import type { MiddlewareHandler } from 'hono';
import { keys as apiKeys } from '../../../regions/store/keys.js';
import { decideAccess, verbOf } from '../access.js';
import { apiError, notFound } from '../errors.js';
import type { TenantEnv } from '../types.js';

export function accountAccess(): MiddlewareHandler<TenantEnv> {
  return async (c, next) => {
    if (c.get('target') !== undefined) return next();
    const parts = c.req.path.split('/');
    const sid = parts[3] ?? '';
    const segment = parts[4] ?? '';
    const { stores, deps } = c.get('api');
    const principal = c.get('principal').account;
    const target = sid === principal.sid ? principal : await stores.accounts.get(sid);
    let authorization;
    if (target !== undefined && target.sid !== principal.sid && target.ownerAccountSid !== principal.sid) {
      const authSid = await deps.redis.get(apiKeys(deps.keyPrefix).authorizationBySubaccount(target.sid));
      authorization = authSid === null ? undefined : await stores.authorizations.get(authSid);
    }
    switch (decideAccess({ principal, target, authorization, segment, verb: verbOf(c.req.method) })) {
      case 'not-found':
        throw notFound(`Account ${sid}`);
      case 'forbidden':
        throw apiError('FORBIDDEN', `This authorization does not permit ${c.req.method} on ${segment || 'the account'}`, 20403);
      case 'inactive':
        throw apiError('FORBIDDEN', `Account ${sid} is not active`, 20005);
      case 'allow':
        c.set('target', target!);
        return next();
    }
  };
}
