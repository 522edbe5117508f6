/**
 * Call records (CallRecord of regions/store/schema.ts). The API creates them
 * in status `queued`; from then on the signaling node owns status, times and
 * duration, and the API only reads.
 */
import type { Redis } from 'ioredis';
import { keys, type CallRecord } from '../../regions/store/schema.js';
import { OwnedRecords } from './owned-records.js';

export class CallStore extends OwnedRecords<CallRecord> {
  constructor(redis: Redis, prefix: string) {
    const k = keys(prefix);
    super(redis, 'CA', k.call, k.accountCalls);
  }
}
