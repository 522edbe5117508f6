/**
 * The one lookup of a dialed number to its IncomingPhoneNumber, shared by the
 * call side (application resolution, inbound accounting, recording's tenant).
 * The control plane writes the E.164 index (control-plane/store/numbers.ts);
 * this reads it. A dialed number arrives as the Request-URI user part, with
 * or without its leading `+`: both spellings find the same number.
 */
import type { Redis } from 'ioredis';
import { isSid } from './sids.js';
import { keys, type IncomingNumberRecord } from './schema.js';

/** Longest user part looked up (E.164 is 15 digits; slack for a `+`). */
const MAX_DIALED = 32;

/** The spellings of `dialed` to try in the E.164 index, `+` form first. */
export function e164Candidates(dialed: string): string[] {
  if (dialed.length === 0 || dialed.length > MAX_DIALED) return [];
  const e164 = dialed.startsWith('+') ? dialed : `+${dialed}`;
  return e164 === dialed ? [e164] : [e164, dialed];
}

function parseNumber(raw: string | null): IncomingNumberRecord | undefined {
  if (raw === null) return undefined;
  try {
    const n = JSON.parse(raw) as Partial<IncomingNumberRecord>;
    return typeof n.sid === 'string' && typeof n.accountSid === 'string' && typeof n.phoneNumber === 'string' ? (n as IncomingNumberRecord) : undefined;
  } catch {
    return undefined;
  }
}

/** The tenant's number record for a dialed number, or undefined when no tenant owns it. */
export async function findNumber(redis: Redis, prefix: string, dialed: string): Promise<IncomingNumberRecord | undefined> {
  const k = keys(prefix);
  for (const candidate of e164Candidates(dialed)) {
    const sid = await redis.get(k.numberByE164(candidate));
    if (sid === null) continue;
    if (!isSid(sid, 'PN')) return undefined;
    return parseNumber(await redis.get(k.number(sid)));
  }
  return undefined;
}
