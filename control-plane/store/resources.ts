/**
 * Record shapes and repositories of the control plane's own resources
 * (the ones regions/store/schema.ts does not define). Recordings and queue
 * members are written by the media / call side; the API reads and deletes.
 */
import type { Redis } from 'ioredis';
import { apiKeys } from './keys.js';
import { OwnedRecords } from './owned-records.js';

export type HttpMethod = 'GET' | 'POST';

export interface ApplicationRecord {
  sid: string; // AP + 32 hex
  accountSid: string;
  friendlyName: string;
  voiceUrl?: string;
  voiceMethod: HttpMethod;
  voiceFallbackUrl?: string;
  voiceFallbackMethod: HttpMethod;
  statusCallback?: string;
  statusCallbackMethod: HttpMethod;
  dateCreated: string;
  dateUpdated: string;
}

export type RecordingStatus = 'in-progress' | 'paused' | 'stopped' | 'processing' | 'completed' | 'absent' | 'failed';

export interface RecordingRecord {
  sid: string; // RE + 32 hex
  accountSid: string;
  callSid: string;
  status: RecordingStatus;
  /** Seconds; -1 while in progress, as the API reports it. */
  duration: number;
  channels: 1 | 2;
  /** What started it: RecordVerb, DialVerb, StartCallRecordingAPI, … */
  source: string;
  region: string;
  /** Where the media side stored the audio (file path or URL). */
  mediaLocation?: string;
  startTime?: string;
  dateCreated: string;
  dateUpdated: string;
}

export interface QueueRecord {
  sid: string; // QU + 32 hex
  accountSid: string;
  friendlyName: string;
  /** 1..5000, default 100 (the API's limits). */
  maxSize: number;
  dateCreated: string;
  dateUpdated: string;
}

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
  return new OwnedRecords(redis, k.application, k.accountApplications);
}

export function recordingStore(redis: Redis, prefix: string): OwnedRecords<RecordingRecord> {
  const k = apiKeys(prefix);
  return new OwnedRecords(redis, k.recording, k.accountRecordings);
}

export function queueStore(redis: Redis, prefix: string): OwnedRecords<QueueRecord> {
  const k = apiKeys(prefix);
  return new OwnedRecords(redis, k.queue, k.accountQueues);
}

export function apiKeyStore(redis: Redis, prefix: string): OwnedRecords<ApiKeyRecord> {
  const k = apiKeys(prefix);
  return new OwnedRecords(redis, k.apiKey, k.accountApiKeys);
}

export function authorizationStore(redis: Redis, prefix: string): OwnedRecords<AuthorizationRecord> {
  const k = apiKeys(prefix);
  return new OwnedRecords(redis, k.authorization, k.accountAuthorizations);
}

/**
 * Writes a recording (the media side calls this when a recording starts and
 * again when it ends); the API lists, fetches and deletes them.
 */
export async function saveRecording(redis: Redis, prefix: string, record: RecordingRecord): Promise<void> {
  const store = recordingStore(redis, prefix);
  if ((await store.get(record.sid)) === undefined) await store.insert(record, Date.parse(record.dateCreated) || Date.now());
  else await store.replace(record);
}

/** Enqueues a call (the call side's <Enqueue> does this); position is the rank by enqueue time. */
export async function enqueueMember(redis: Redis, prefix: string, queueSid: string, callSid: string, atMs: number): Promise<void> {
  await redis.zadd(apiKeys(prefix).queueMembers(queueSid), 'NX', atMs, callSid);
}
