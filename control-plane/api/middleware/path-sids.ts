/**
 * Every SID in a tenant API path is checked against its format (prefix + 32
 * lowercase hex) before any handler or store sees it; anything else is 404,
 * the same answer as a SID that does not exist. A path segment becomes part
 * of a Redis key further in (`account:{Sid}`), so `AC…:usage` would
 * otherwise read another record's key (a 500 and an existence oracle).
 */
import type { MiddlewareHandler } from 'hono';
import { isSid, type SidPrefix } from '../../../regions/store/sids.js';
import { notFound } from '../errors.js';
import type { TenantEnv } from '../types.js';

/** Collection segment → the SID kind of the segment after it (`Members/Front` is the one non-SID member name). */
export const PATH_SID_PREFIXES: Readonly<Record<string, SidPrefix>> = {
  Accounts: 'AC',
  Applications: 'AP',
  IncomingPhoneNumbers: 'PN',
  Calls: 'CA',
  Recordings: 'RE',
  Queues: 'QU',
  Members: 'CA',
  Keys: 'SK',
  Authorizations: 'CN',
  Trackers: 'TK',
  PriceOverrides: 'PO',
};

/** Names that stand where a SID could, and are not one. */
const NAMED_MEMBERS: Readonly<Record<string, readonly string[]>> = { Members: ['Front'] };

/** Recordings/{Sid}.wav and .mp3 name the media of a recording. */
const MEDIA_SUFFIX = /\.(wav|mp3)$/;

/** The first path segment that stands where a SID must and is not one, or undefined. */
export function badPathSid(path: string): string | undefined {
  // ['', '2010-04-01', 'Accounts', AC…, 'Calls', CA…, 'Recordings', …]
  const parts = path.split('/').slice(2);
  for (let i = 0; i + 1 < parts.length; i += 2) {
    const collection = parts[i] as string;
    // Own keys only: a segment such as `constructor` must not find Object.prototype's.
    const prefix = Object.hasOwn(PATH_SID_PREFIXES, collection) ? PATH_SID_PREFIXES[collection] : undefined;
    if (prefix === undefined) continue; // Usage/Records/{Period}: checked by its route's schema
    let id = parts[i + 1] as string;
    if (Object.hasOwn(NAMED_MEMBERS, collection) && NAMED_MEMBERS[collection]?.includes(id)) continue;
    if (collection === 'Recordings' && i + 2 === parts.length) id = id.replace(MEDIA_SUFFIX, '');
    if (!isSid(id, prefix)) return id;
  }
  return undefined;
}

export function pathSids(): MiddlewareHandler<TenantEnv> {
  return async (c, next) => {
    const bad = badPathSid(c.req.path);
    if (bad !== undefined) throw notFound(`The requested resource ${c.req.path}`);
    await next();
  };
}
