import type { Redis } from 'ioredis';
import { AccountStore } from '../store/accounts.js';
import { CallRecordStore as CallStore } from '../../regions/store/call-records.js';
import { NumberStore } from '../../regions/store/numbers.js';
import { TrackerStore } from '../../regions/store/trackers.js';
import { apiKeyStore, applicationStore, authorizationStore, queueStore, recordingStore } from '../store/resources.js';
import type { Stores } from './types.js';

export function createStores(redis: Redis, prefix: string, now: () => Date): Stores {
  return {
    accounts: new AccountStore(redis, prefix, now),
    applications: applicationStore(redis, prefix),
    numbers: new NumberStore(redis, prefix),
    calls: new CallStore(redis, prefix),
    recordings: recordingStore(redis, prefix),
    queues: queueStore(redis, prefix),
    apiKeys: apiKeyStore(redis, prefix),
    authorizations: authorizationStore(redis, prefix),
    trackers: new TrackerStore(redis, prefix),
  };
}
