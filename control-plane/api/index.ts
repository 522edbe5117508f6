/** Public surface of the tenant API (issue 4). */
export { createTenantApp, DEFAULT_MAX_BODY_BYTES, DEFAULT_RATE_LIMIT } from './app.js';
export { RedisCallControl, COMMAND_STREAM_MAXLEN } from './call-control.js';
export { startHttpServer, type RunningServer, type ServeOptions } from './server.js';
export { decideAccess, type AccessDecision, type AccessQuestion } from './access.js';
export { errorBody, apiError, badParam, type ApiErrorBody } from './errors.js';
export type { CallControl, TenantApiDeps, Principal, Stores, TenantEnv } from './types.js';
export { bootstrapAccount, ensureDevAccount, AccountStore, type NewAccount } from '../store/accounts.js';
export { recordUsage, readUsageRows, summarizeUsage } from '../../regions/store/usage.js';
export { CallRecordStore } from '../../regions/store/call-records.js';
export { NumberStore } from '../../regions/store/numbers.js';
export { OwnedRecords } from '../../regions/store/owned-records.js';
export { enqueueMember } from '../../regions/store/queues.js';
export {
  applicationStore,
  recordingStore,
  queueStore,
  apiKeyStore,
  authorizationStore,
  saveRecording,
} from '../store/resources.js';
export { keys } from '../../regions/store/keys.js';
