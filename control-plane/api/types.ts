/**
 * Dependencies and per-request context of the tenant API.
 */
import type { Redis } from 'ioredis';
import type { SecretBox } from '../../regions/auth/secret-box.js';
import type { Logger } from '../../regions/core/log.js';
import type { AccountRecord, CallCommand } from '../../regions/store/schema.js';
import type { AccountStore } from '../store/accounts.js';
import type { AuthThrottle, AuthThrottleConfig } from '../store/auth-failures.js';
import type { CallRecordStore as CallStore } from '../../regions/store/call-records.js';
import type { NumberStore } from '../../regions/store/numbers.js';
import type { OwnedRecords } from '../../regions/store/owned-records.js';
import type { QueueRecord } from '../../regions/store/queues.js';
import type { TrackerStore } from '../../regions/store/trackers.js';
import type { RateLimitConfig } from '../store/rate-limit.js';
import type {
  ApiKeyRecord,
  ApplicationRecord,
  AuthorizationRecord,
  RecordingRecord,
} from '../store/resources.js';

/** How the control plane tells a region's signaling nodes to act on a call. */
export interface CallControl {
  send(region: string, cmd: CallCommand): Promise<void>;
}

export interface TenantApiDeps {
  redis: Redis;
  keyPrefix: string;
  /** Home region of accounts created without one. */
  defaultRegion: string;
  /** Regions an account, subaccount or number may be homed in: every region of the catalog. */
  regions: string[];
  callControl: CallControl;
  now?: () => Date;
  /** Per-account token bucket; default 100 requests/s, burst 200. */
  rateLimit?: RateLimitConfig;
  /** Failed-authentication throttle per source address and per SID; default 20 / 100 failures per 60 s. */
  authThrottle?: AuthThrottleConfig;
  /** Largest accepted request body; default 1 MiB. */
  maxBodyBytes?: number;
  /**
   * The platform secrets key: API keys created with it keep their secret sealed (AES-256-GCM), so
   * they can verify access tokens. Without it keys are stored hashed only (API auth, no tokens);
   * the control-plane process always has one (infra/control-plane-main.ts).
   */
  secrets?: SecretBox;
  log?: Logger;
}

export interface Stores {
  accounts: AccountStore;
  applications: OwnedRecords<ApplicationRecord>;
  numbers: NumberStore;
  calls: CallStore;
  recordings: OwnedRecords<RecordingRecord>;
  queues: OwnedRecords<QueueRecord>;
  apiKeys: OwnedRecords<ApiKeyRecord>;
  authorizations: OwnedRecords<AuthorizationRecord>;
  trackers: TrackerStore;
}

/** Who is calling: the account whose credentials (auth token or API key) were presented. */
export interface Principal {
  account: AccountRecord;
  /** Set when an API key (SK…) authenticated the request. */
  keySid?: string;
}

export interface ApiContext {
  deps: TenantApiDeps;
  stores: Stores;
  authThrottle: AuthThrottle;
  now: () => Date;
}

export type TenantEnv = {
  Variables: {
    api: ApiContext;
    principal: Principal;
    /** The account named in the path, once access to it was granted. */
    target: AccountRecord;
  };
};
