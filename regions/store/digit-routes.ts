/**
 * Where a call's digits go when its media is in another region (the owner of
 * the `digit-route:` keys). rtpengine reports the digits it sees to the
 * signaling node of its own region (`--dtmf-log-dest`); when the call runs
 * elsewhere (an application homed in another region, its leg at the edge or
 * on the nearest region with the capability), the home records here that the
 * session's digits are its own, and the media region's node passes them on
 * through the region link. Written when the leg is made, deleted when it ends,
 * with a TTL so a crashed home leaves nothing behind for long.
 */
import type { Redis } from 'ioredis';
import { MeshError } from '../core/errors.js';
import { keys } from './keys.js';

/** A route outlives no call: the longest call the platform keeps (4 h), then it expires by itself. */
export const DIGIT_ROUTE_TTL_S = 4 * 3600;
/** rtpengine call-ids are SIP Call-IDs: printable, no spaces, bounded (RFC 3261 §25.1 `word`, our parser's cap). */
const CALL_ID = /^[\x21-\x7e]{1,256}$/;
const REGION_ID = /^[A-Za-z0-9._-]{1,64}$/;

function check(callId: string, region?: string): void {
  if (!CALL_ID.test(callId)) throw new MeshError('BAD_REQUEST', 'digit route: call-id must be 1..256 printable characters');
  if (region !== undefined && !REGION_ID.test(region)) throw new MeshError('BAD_REQUEST', `digit route: invalid region id ${JSON.stringify(region)}`);
}

/** The digits of rtpengine session `callId` belong to `region`'s signaling node. */
export async function openDigitRoute(redis: Redis, prefix: string, callId: string, region: string): Promise<void> {
  check(callId, region);
  await redis.set(keys(prefix).digitRoute(callId), region, 'EX', DIGIT_ROUTE_TTL_S);
}

/** Forget the route (the call ended). Idempotent. */
export async function closeDigitRoute(redis: Redis, prefix: string, callId: string): Promise<void> {
  check(callId);
  await redis.del(keys(prefix).digitRoute(callId));
}

/** The region the digits of `callId` go to; undefined when none is recorded (or the stored value is not a region id). */
export async function readDigitRoute(redis: Redis, prefix: string, callId: string): Promise<string | undefined> {
  if (!CALL_ID.test(callId)) return undefined;
  const region = await redis.get(keys(prefix).digitRoute(callId));
  return region !== null && REGION_ID.test(region) ? region : undefined;
}
