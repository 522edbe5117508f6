/**
 * Link cut drills in Redis (the owner of the `link-cuts` key): the operator
 * API records which region links are cut, and the launcher's relay set
 * (infra/link-relays.ts `followLinkCuts`) applies it. The control plane and
 * the relays are separate processes, so Redis is the hand-over. A cut is of
 * a pair, not a direction: both ordered pairs drop everything until restored.
 * Stored as a set of `a|b` members with a < b, bounded to MAX_LINK_CUTS.
 */
import type { Redis } from 'ioredis';
import { MeshError } from '../core/errors.js';
import { keys } from './keys.js';

/** Most pairs cut at once; a catalog of 32 regions has 496 links, far beyond any drill. */
export const MAX_LINK_CUTS = 256;
/** Region ids as keys and log fields carry them; `|` is the pair separator and never allowed. */
const REGION_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** One cut link, its regions in ascending order. */
export type LinkPair = readonly [string, string];

/** The pair in its stored order; throws on an invalid region id or a = b. */
export function linkPair(a: string, b: string): LinkPair {
  for (const id of [a, b]) if (!REGION_ID.test(id)) throw new MeshError('BAD_REQUEST', `invalid region id ${JSON.stringify(id)}`);
  if (a === b) throw new MeshError('BAD_REQUEST', `a link joins two different regions, got ${a} twice`);
  return a < b ? [a, b] : [b, a];
}

const member = (p: LinkPair): string => `${p[0]}|${p[1]}`;

function parseMember(m: string): LinkPair | undefined {
  const [a, b, extra] = m.split('|');
  if (a === undefined || b === undefined || extra !== undefined) return undefined;
  try {
    return linkPair(a, b);
  } catch {
    return undefined; // hand-edited junk is ignored, never applied half-way
  }
}

/** Cut the link between a and b. Idempotent; CONFLICT when MAX_LINK_CUTS other links are already cut. */
export async function cutLink(redis: Redis, prefix: string, a: string, b: string): Promise<void> {
  const key = keys(prefix).linkCuts();
  const m = member(linkPair(a, b));
  if ((await redis.sismember(key, m)) === 1) return;
  if ((await redis.scard(key)) >= MAX_LINK_CUTS) throw new MeshError('CONFLICT', `at most ${MAX_LINK_CUTS} links may be cut at once`);
  await redis.sadd(key, m);
}

/** Restore the link between a and b. Idempotent. */
export async function restoreLink(redis: Redis, prefix: string, a: string, b: string): Promise<void> {
  await redis.srem(keys(prefix).linkCuts(), member(linkPair(a, b)));
}

export async function isLinkCut(redis: Redis, prefix: string, a: string, b: string): Promise<boolean> {
  return (await redis.sismember(keys(prefix).linkCuts(), member(linkPair(a, b)))) === 1;
}

/** Every cut link (at most MAX_LINK_CUTS, sorted); invalid members are skipped. */
export async function listLinkCuts(redis: Redis, prefix: string): Promise<LinkPair[]> {
  const members = await redis.smembers(keys(prefix).linkCuts());
  const pairs: LinkPair[] = [];
  for (const m of members.sort()) {
    const p = parseMember(m);
    if (p !== undefined) pairs.push(p);
    if (pairs.length >= MAX_LINK_CUTS) break;
  }
  return pairs;
}
