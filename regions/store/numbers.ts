/**
 * Incoming phone numbers: the one owner of the `IncomingNumberRecord` shape,
 * its keys (`number`, `accountNumbers`, `numberByE164` of keys.ts) and every
 * read and write. The control plane provisions and releases numbers
 * (`NumberStore`, the only writer of the E.164 index); the call side looks
 * dialed numbers up (`findNumber`: application resolution, inbound
 * accounting, recording's tenant). A dialed number arrives as the
 * Request-URI user part, with or without its leading `+`: both spellings
 * find the same number.
 */
import type { Redis } from 'ioredis';
import { MeshError } from '../core/errors.js';
import { keys } from './keys.js';
import { OwnedRecords } from './owned-records.js';
import { isSid } from './sids.js';

export interface IncomingNumberRecord {
  sid: string; // PN + 32 hex
  accountSid: string;
  phoneNumber: string; // E.164
  friendlyName: string;
  applicationSid?: string; // VoiceApplicationSid
  voiceUrl?: string;
  voiceMethod?: 'GET' | 'POST';
  voiceFallbackUrl?: string;
  voiceFallbackMethod?: 'GET' | 'POST';
  statusCallback?: string;
  statusCallbackMethod?: 'GET' | 'POST';
  homeRegion: string;
  /** Tags (tags.ts, ≤ 10): every call to this number carries them. */
  tags?: string[];
  dateCreated: string;
  dateUpdated: string;
}


/**
 * The tenant API's repository of numbers. The E.164 index is what the call
 * side looks numbers up by, so it must stay unique: it is claimed with SET NX
 * before the record is written, and a second claim of the same number is
 * refused.
 */
export class NumberStore extends OwnedRecords<IncomingNumberRecord> {
  private readonly k: ReturnType<typeof keys>;

  constructor(redis: Redis, prefix: string) {
    const k = keys(prefix);
    super(redis, 'PN', k.number, k.accountNumbers);
    this.k = k;
  }

  /** Throws CONFLICT when the number is already provisioned (to anyone). */
  async create(record: IncomingNumberRecord, createdMs: number): Promise<void> {
    const claimed = await this.redis.set(this.k.numberByE164(record.phoneNumber), record.sid, 'NX');
    if (claimed === null) {
      throw new MeshError('CONFLICT', `PhoneNumber ${record.phoneNumber} is already provisioned`, {
        detail: { apiCode: 21422, field: 'PhoneNumber' },
      });
    }
    try {
      await this.insert(record, createdMs);
    } catch (e) {
      await this.redis.del(this.k.numberByE164(record.phoneNumber));
      throw e;
    }
  }

  async delete(record: IncomingNumberRecord): Promise<void> {
    const e164Key = this.k.numberByE164(record.phoneNumber);
    await this.remove(record, (tx) => tx.del(e164Key));
  }

  async sidByE164(e164: string): Promise<string | undefined> {
    return (await this.redis.get(this.k.numberByE164(e164))) ?? undefined;
  }
}

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
