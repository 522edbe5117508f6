/**
 * Who may act on which account. A principal may act on itself and on its
 * own subaccounts (never on its parent); a developer account may act on a
 * subaccount a user authorized for its application, within the permission
 * profile. Anything else reads as "not found", so a SID never tells whether
 * it exists in another tenant.
 */
import type { AccountRecord } from '../../regions/store/schema.js';
import type { AuthorizationRecord, PermissionResource, PermissionVerb } from '../store/resources.js';
import type { Principal } from './types.js';

/** Path segment after /Accounts/{Sid}/ → the permission resource it needs. `undefined`: not grantable to applications. */
export const SEGMENT_RESOURCES: Record<string, PermissionResource | undefined> = {
  '': 'accounts',
  Applications: 'applications',
  IncomingPhoneNumbers: 'incoming-phone-numbers',
  Calls: 'calls',
  Recordings: 'recordings',
  Queues: 'queues',
  Usage: 'usage',
  Trackers: 'trackers',
  Keys: undefined,
  Authorizations: undefined,
};

export function verbOf(method: string): PermissionVerb {
  if (method === 'GET' || method === 'HEAD') return 'read';
  if (method === 'DELETE') return 'delete';
  return 'write';
}

export type AccessDecision = 'allow' | 'not-found' | 'forbidden' | 'inactive';

export interface AccessQuestion {
  principal: AccountRecord;
  target: AccountRecord | undefined;
  /** The authorization that created the target, if any. */
  authorization: AuthorizationRecord | undefined;
  /** Path segment after the account (e.g. `Calls`, '' for the account itself). */
  segment: string;
  verb: PermissionVerb;
}

export function decideAccess(q: AccessQuestion): AccessDecision {
  const { principal, target } = q;
  if (target === undefined) return 'not-found';
  if (target.sid === principal.sid) return 'allow';
  const isOwner = target.ownerAccountSid === principal.sid;
  const isDeveloper = q.authorization !== undefined && q.authorization.developerAccountSid === principal.sid;
  if (!isOwner && !isDeveloper) return 'not-found';
  // An owner still reads and re-activates a suspended subaccount; everything else waits.
  if (target.status !== 'active' && !(isOwner && q.segment === '')) return 'inactive';
  if (isOwner) return 'allow';
  const resource = Object.hasOwn(SEGMENT_RESOURCES, q.segment) ? SEGMENT_RESOURCES[q.segment] : undefined;
  if (resource === undefined) return 'forbidden';
  const verbs = q.authorization?.permissions[resource] ?? [];
  return verbs.includes(q.verb) ? 'allow' : 'forbidden';
}

/**
 * Whether `viewer` may see `account`'s credentials (its auth token). Only the
 * account itself or its parent, and only when they authenticated with the
 * auth token: an API key or a developer acting through an authorization never
 * sees one, so nothing reached through a key or a grant outlives its revocation.
 */
export function mayViewCredentials(viewer: Principal, account: AccountRecord): boolean {
  if (viewer.keySid !== undefined) return false;
  return account.sid === viewer.account.sid || account.ownerAccountSid === viewer.account.sid;
}
