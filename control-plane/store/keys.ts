/**
 * Key builders for control-plane records that regions/store/schema.ts does not
 * cover (applications, recordings, queues, API keys, authorizations, rate
 * limits). Same conventions as schema.ts: every key starts with the prefix,
 * records are JSON strings, indexes are sorted sets scored by creation ms.
 */
export const apiKeys = (prefix: string) => ({
  application: (sid: string) => `${prefix}application:${sid}`,
  accountApplications: (accountSid: string) => `${prefix}account:${accountSid}:applications`,
  /** Sorted set of incoming number SIDs per account. */
  accountNumbers: (accountSid: string) => `${prefix}account:${accountSid}:numbers`,
  recording: (sid: string) => `${prefix}recording:${sid}`,
  accountRecordings: (accountSid: string) => `${prefix}account:${accountSid}:recordings`,
  queue: (sid: string) => `${prefix}queue:${sid}`,
  accountQueues: (accountSid: string) => `${prefix}account:${accountSid}:queues`,
  /** Sorted set of call SIDs waiting in a queue, scored by enqueue ms (position = rank). */
  queueMembers: (queueSid: string) => `${prefix}queue:${queueSid}:members`,
  apiKey: (sid: string) => `${prefix}apikey:${sid}`,
  accountApiKeys: (accountSid: string) => `${prefix}account:${accountSid}:apikeys`,
  authorization: (sid: string) => `${prefix}authorization:${sid}`,
  accountAuthorizations: (accountSid: string) => `${prefix}account:${accountSid}:authorizations`,
  /** Subaccount SID → authorization SID that created it. */
  authorizationBySubaccount: (subaccountSid: string) => `${prefix}authorization-sub:${subaccountSid}`,
  /** Token bucket state of an account's API requests (hash: tokens, at). */
  rateLimit: (accountSid: string) => `${prefix}ratelimit:${accountSid}`,
  /** SID of the development account `make start` creates once. */
  devAccount: () => `${prefix}dev-account`,
});
