/**
 * Key builders for control-plane records that regions/store/schema.ts does not
 * cover (applications, API keys, authorizations, rate limits). Queues and
 * recordings are written by the call side too, so their keys live in
 * regions/store/schema.ts (`keys`). Same conventions as schema.ts: every key starts with the prefix,
 * records are JSON strings, indexes are sorted sets scored by creation ms.
 */
export const apiKeys = (prefix: string) => ({
  application: (sid: string) => `${prefix}application:${sid}`,
  accountApplications: (accountSid: string) => `${prefix}account:${accountSid}:applications`,
  /** Sorted set of incoming number SIDs per account. */
  accountNumbers: (accountSid: string) => `${prefix}account:${accountSid}:numbers`,
  apiKey: (sid: string) => `${prefix}apikey:${sid}`,
  accountApiKeys: (accountSid: string) => `${prefix}account:${accountSid}:apikeys`,
  authorization: (sid: string) => `${prefix}authorization:${sid}`,
  accountAuthorizations: (accountSid: string) => `${prefix}account:${accountSid}:authorizations`,
  /** Subaccount SID → authorization SID that created it. */
  authorizationBySubaccount: (subaccountSid: string) => `${prefix}authorization-sub:${subaccountSid}`,
  /** Token bucket state of an account's API requests (hash: tokens, at). */
  rateLimit: (accountSid: string) => `${prefix}ratelimit:${accountSid}`,
  /** Failed-authentication counter of one source address or one claimed SID (string, expires with its window). */
  authFailures: (scope: 'address' | 'principal', id: string) => `${prefix}authfail:${scope}:${id}`,
  /** SID of the development account `make start` creates once. */
  devAccount: () => `${prefix}dev-account`,
});
