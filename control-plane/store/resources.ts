/**
 * Record shapes and repositories of the control plane's resources. Queues and
 * recordings are shared with the call side, so their shapes and writes live
 * in regions/store (queues.ts, recordings.ts) and are re-exported here; the
 * API reads them through the same OwnedRecords repositories as the rest.
 */
import type { Redis } from 'ioredis';
import { MeshError } from '../../regions/core/errors.js';
import { QueueStore, type QueueRecord } from '../../regions/store/queues.js';
import type { RecordingRecord } from '../../regions/store/recordings.js';
import { keys } from '../../regions/store/schema.js';
import { apiKeys } from './keys.js';
import { OwnedRecords } from './owned-records.js';

export type { QueueRecord } from '../../regions/store/queues.js';
export { saveRecording, type RecordingRecord, type RecordingStatus } from '../../regions/store/recordings.js';

export type HttpMethod = 'GET' | 'POST';

import type { ApplicationRecord } from '../../regions/store/applications.js';
export type { ApplicationRecord };

export interface ApiKeyRecord {
  sid: string; // SK + 32 hex
  accountSid: string;
  friendlyName: string;
  /** sha256 hex of the secret; the secret itself is returned once, at creation. */
  secretHash: string;
  dateCreated: string;
  dateUpdated: string;
}

/** Resources a permission profile grants, by the path segment they live under. */
export const PERMISSION_RESOURCES = [
  'accounts',
  'applications',
  'incoming-phone-numbers',
  'calls',
  'recordings',
  'queues',
  'usage',
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
  const k = apiKeys(prefix);
  return new OwnedRecords(redis, 'AP', k.application, k.accountApplications);
}

export function recordingStore(redis: Redis, prefix: string): OwnedRecords<RecordingRecord> {
  const k = keys(prefix);
  return new OwnedRecords(redis, 'RE', k.recording, k.accountRecordings);
}

/** Read side of queues (get, getOwned, list); writes go through QueueStore so the name index stays right. */
export function queueStore(redis: Redis, prefix: string): OwnedRecords<QueueRecord> {
  const k = keys(prefix);
  return new OwnedRecords(redis, 'QU', k.queue, k.accountQueues);
}

export function apiKeyStore(redis: Redis, prefix: string): OwnedRecords<ApiKeyRecord> {
  const k = apiKeys(prefix);
  return new OwnedRecords(redis, 'SK', k.apiKey, k.accountApiKeys);
}

export function authorizationStore(redis: Redis, prefix: string): OwnedRecords<AuthorizationRecord> {
  const k = apiKeys(prefix);
  return new OwnedRecords(redis, 'CN', k.authorization, k.accountAuthorizations);
}

/**
 * Enqueues a call at `atMs` (tests and tools; the call side uses
 * RedisCallQueues). Same atomic write as the call side: MaxSize is enforced.
 */
export async function enqueueMember(redis: Redis, prefix: string, queueSid: string, callSid: string, atMs: number): Promise<void> {
  const r = await new QueueStore(redis, prefix).enqueue(queueSid, callSid, atMs);
  if (r.status === 'gone') throw new MeshError('NOT_FOUND', `Queue ${queueSid} does not exist`);
  if (r.status === 'full') throw new MeshError('CONFLICT', `Queue ${queueSid} is full (MaxSize ${r.maxSize})`, { detail: { queueFull: true } });
}
