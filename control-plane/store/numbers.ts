/**
 * Incoming phone numbers (IncomingNumberRecord of regions/store/schema.ts).
 * The E.164 index `numberByE164` is what the signaling side looks numbers up
 * by, so it must stay unique: it is claimed with SET NX before the record is
 * written, and a second claim of the same number is refused.
 */
import type { Redis } from 'ioredis';
import { MeshError } from '../../regions/core/errors.js';
import { keys, type IncomingNumberRecord } from '../../regions/store/schema.js';
import { apiKeys } from './keys.js';
import { OwnedRecords } from './owned-records.js';

export class NumberStore extends OwnedRecords<IncomingNumberRecord> {
  private readonly k;
  constructor(redis: Redis, prefix: string) {
    const ak = apiKeys(prefix);
    const k = keys(prefix);
    super(redis, 'PN', k.number, ak.accountNumbers);
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
