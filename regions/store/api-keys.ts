/**
 * API keys: an SID + secret a tenant uses instead of its auth token, for the
 * API (HTTP Basic) and to sign access tokens for browser and app clients. The
 * control plane creates and deletes them (Keys API); the API's authentication
 * and the access-token resolver (regions/auth/token-resolver.ts) read them.
 *
 * The secret is shown once, at creation. What is stored: its SHA-256 (enough
 * for Basic auth) and, for keys created while the platform has a secrets key,
 * the secret sealed with it (AES-256-GCM, regions/auth/secret-box.ts, the key
 * SID as associated data), which verifying an access token's HMAC needs. A key
 * without `sealedSecret` (created before token support) authenticates API
 * requests but cannot verify tokens.
 */
import type { Redis } from 'ioredis';
import { keys } from './keys.js';
import { OwnedRecords } from './owned-records.js';

export interface ApiKeyRecord {
  sid: string; // SK + 32 hex
  accountSid: string;
  friendlyName: string;
  /** sha256 hex of the secret. */
  secretHash: string;
  /** The secret sealed under the platform secrets key (`SecretBox.seal(secret, sid)`); absent on keys from before token support. */
  sealedSecret?: string;
  dateCreated: string;
  dateUpdated: string;
}

export function apiKeyRecords(redis: Redis, prefix: string): OwnedRecords<ApiKeyRecord> {
  const k = keys(prefix);
  return new OwnedRecords(redis, 'SK', k.apiKey, k.accountApiKeys);
}
