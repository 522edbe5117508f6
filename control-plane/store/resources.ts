/**
 * Record shapes and repositories of the control plane's own resources (API
 * keys, authorizations), and the API's repositories of the shared ones whose
 * shapes and writes live in regions/store (applications.ts, recordings.ts,
 * queues.ts).
 */
import type { Redis } from 'ioredis';
import { keys } from '../../regions/store/keys.js';
import { OwnedRecords } from '../../regions/store/owned-records.js';
import { QueueStore } from '../../regions/store/queues.js';
import type { RecordingRecord } from '../../regions/store/recordings.js';
import { apiKeyRecords, type ApiKeyRecord } from '../../regions/store/api-keys.js';

export { saveRecording, type RecordingRecord, type RecordingStatus } from '../../regions/store/recordings.js';

export type HttpMethod = 'GET' | 'POST';

import type { ApplicationRecord } from '../../regions/store/applications.js';
export type { ApplicationRecord };

/** API keys are shared with the call side (access tokens): record and store in regions/store/api-keys.ts. */
export type { ApiKeyRecord };

/** Resources a permission profile grants, by the path segment they live under. */
export const PERMISSION_RESOURCES = [
  'accounts',
  'applications',
  'incoming-phone-numbers',
  'calls',
  'recordings',
  'queues',
  'usage',
  'trackers',
] as const;
export type PermissionResource = (typeof PERMISSION_RESOURCES)[number];
export const PERMISSION_VERBS = ['read', 'write', 'delete'] as const;
export type PermissionVerb = (typeof PERMISSION_VERBS)[number];
export type PermissionProfile = Partial<Record<PermissionResource, PermissionVerb[]>>;

/**
 * A user account's grant to a developer account's application: the platform
 * made `subaccountSid` (owned by the user) on which the developer may act
 * within `permissions`.
 */
export interface AuthorizationRecord {
  sid: string; // CN + 32 hex
  /** The user account that granted it (owner of the subaccount). */
  accountSid: string;
  subaccountSid: string;
  developerAccountSid: string;
  applicationSid: string;
  permissions: PermissionProfile;
  dateCreated: string;
}

export function applicationStore(redis: Redis, prefix: string): OwnedRecords<ApplicationRecord> {
  const k = keys(prefix);
  return new OwnedRecords(redis, 'AP', k.application, k.accountApplications);
}

export function recordingStore(redis: Redis, prefix: string): OwnedRecords<RecordingRecord> {
  const k = keys(prefix);
  return new OwnedRecords(redis, 'RE', k.recording, k.accountRecordings);
}

/** Queues (get, getOwned, list and the scripted writes): the shared QueueStore of regions/store/queues.ts. */
export function queueStore(redis: Redis, prefix: string): QueueStore {
  return new QueueStore(redis, prefix);
}

export function apiKeyStore(redis: Redis, prefix: string): OwnedRecords<ApiKeyRecord> {
  return apiKeyRecords(redis, prefix);
}

export function authorizationStore(redis: Redis, prefix: string): OwnedRecords<AuthorizationRecord> {
  const k = keys(prefix);
  return new OwnedRecords(redis, 'CN', k.authorization, k.accountAuthorizations);
}
