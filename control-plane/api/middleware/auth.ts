/**
 * HTTP Basic authentication (RFC 7617) with AccountSid:AuthToken or
 * ApiKeySid:Secret. Closed accounts have their credentials revoked (401);
 * suspended ones — or subaccounts of a suspended or closed parent — are
 * known but refused (403, code 20005). Failed attempts are throttled per
 * source address and per claimed SID (store/auth-failures.ts): 429 +
 * Retry-After, code 20429.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context, MiddlewareHandler } from 'hono';
import type { AuthThrottle, ThrottleDecision } from '../../store/auth-failures.js';
import { MeshError } from '../../../regions/core/errors.js';
import type { AccountRecord } from '../../../regions/store/schema.js';
import { apiError } from '../errors.js';
import type { Stores, TenantEnv } from '../types.js';

function sameSecret(a: string, b: string): boolean {
  const ba = Buffer.from(a);
  const bb = Buffer.from(b);
  return ba.length === bb.length && timingSafeEqual(ba, bb);
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

function unauthorized(): MeshError {
  return apiError('UNAUTHORIZED', 'Authenticate', 20003);
}

export function parseBasic(header: string | undefined): { user: string; pass: string } | undefined {
  if (header === undefined) return undefined;
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (m === null) return undefined;
  const decoded = Buffer.from(m[1] as string, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return undefined;
  return { user: decoded.slice(0, colon), pass: decoded.slice(colon + 1) };
}

async function accountForCredentials(stores: Stores, user: string, pass: string): Promise<{ account: AccountRecord; keySid?: string }> {
  if (user.startsWith('AC')) {
    const account = await stores.accounts.get(user);
    if (account === undefined || !sameSecret(account.authToken, pass)) throw unauthorized();
    return { account };
  }
  if (user.startsWith('SK')) {
    const key = await stores.apiKeys.get(user);
    if (key === undefined || !sameSecret(key.secretHash, hashSecret(pass))) throw unauthorized();
    const account = await stores.accounts.get(key.accountSid);
    if (account === undefined) throw unauthorized();
    return { account, keySid: key.sid };
  }
  throw unauthorized();
}

function throttled(d: ThrottleDecision & { refused: true }): MeshError {
  const what = d.scope === 'address' ? 'from this address' : 'for this account';
  return new MeshError('RATE_LIMITED', `Too many failed authentication attempts ${what}; retry later`, {
    retryAfter: d.retryAfterSeconds,
    detail: { apiCode: 20429 },
  });
}

/** The TCP peer's address; undefined where the app is not served by node:http (in-process tests). */
function sourceAddress(c: Context<TenantEnv>): string | undefined {
  try {
    return getConnInfo(c).remote.address;
  } catch {
    return undefined;
  }
}

/** Verifies the credentials under the throttle: refused before the check, or counted when wrong. */
async function checkedPrincipal(c: Context<TenantEnv>, stores: Stores, throttle: AuthThrottle, user: string, pass: string) {
  const address = sourceAddress(c);
  const before = await throttle.before(address, user);
  if (before.refused) throw throttled(before);
  try {
    return await accountForCredentials(stores, user, pass);
  } catch (e) {
    if (!(e instanceof MeshError) || e.code !== 'UNAUTHORIZED') throw e;
    const after = await throttle.failed(address, user);
    throw after.refused ? throttled(after) : e;
  }
}

export function authenticate(): MiddlewareHandler<TenantEnv> {
  return async (c, next) => {
    const creds = parseBasic(c.req.header('Authorization'));
    if (creds === undefined) {
      c.header('WWW-Authenticate', 'Basic realm="edge-mesh"');
      throw unauthorized();
    }
    const { stores, authThrottle } = c.get('api');
    const principal = await checkedPrincipal(c, stores, authThrottle, creds.user, creds.pass);
    const owner = principal.account.ownerAccountSid === undefined ? undefined : await stores.accounts.get(principal.account.ownerAccountSid);
    if (principal.account.status === 'closed') throw unauthorized();
    if (principal.account.status === 'suspended' || (owner !== undefined && owner.status !== 'active')) {
      throw apiError('FORBIDDEN', 'Account is not active', 20005);
    }
    c.set('principal', principal);
    await next();
  };
}
