export { apiKeys } from './keys.js';
export { newSid, newAuthToken, newKeySecret, isSid } from './ids.js';
export { readJson, readJsonMany, pageIndex, MAX_SCAN, type PageQuery, type PageResult } from './records.js';
export { OwnedRecords, type OwnedRecord } from './owned-records.js';
export { AccountStore, bootstrapAccount, ensureDevAccount, type NewAccount } from './accounts.js';
export { NumberStore } from './numbers.js';
export { CallStore } from './calls.js';
export {
  applicationStore,
  recordingStore,
  queueStore,
  apiKeyStore,
  authorizationStore,
  saveRecording,
  enqueueMember,
  PERMISSION_RESOURCES,
  PERMISSION_VERBS,
  type ApplicationRecord,
  type RecordingRecord,
  type RecordingStatus,
  type QueueRecord,
  type ApiKeyRecord,
  type AuthorizationRecord,
  type PermissionProfile,
  type PermissionResource,
  type PermissionVerb,
  type HttpMethod,
} from './resources.js';
export {
  recordUsage,
  readUsageRows,
  summarizeUsage,
  usageDay,
  USAGE_CATEGORIES,
  USAGE_UNITS,
  USAGE_DESCRIPTIONS,
  type UsageRow,
  type UsageTotal,
  type UsageQuery,
} from './usage.js';
export { takeToken, type RateLimitConfig, type RateDecision } from './rate-limit.js';
