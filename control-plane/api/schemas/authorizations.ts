import { z } from '@hono/zod-openapi';
import {
  PERMISSION_RESOURCES,
  PERMISSION_VERBS,
  type AuthorizationRecord,
  type PermissionProfile,
  type PermissionResource,
  type PermissionVerb,
} from '../../store/resources.js';
import { PageMetaSchema, type PageMeta } from '../paging.js';
import { accountUri, FriendlyNameField, repeated } from './common.js';

const PERMISSION = new RegExp(`^(${PERMISSION_RESOURCES.join('|')}):(${PERMISSION_VERBS.join('|')}|\\*)$`);

export const CreateAuthorizationForm = z.object({
  /** The developer account's application asking for access (AP…, any account's). */
  ApplicationSid: z.string().regex(/^AP[0-9a-f]{32}$/, 'is not an application SID'),
  /** `resource:verb`, repeated; verb is read, write, delete or *. */
  Permissions: repeated(z.string().regex(PERMISSION, `must be resource:verb with resource in ${PERMISSION_RESOURCES.join(', ')} and verb in read, write, delete, *`)),
  FriendlyName: FriendlyNameField.optional(),
});

export const AuthorizationSchema = z
  .object({
    sid: z.string(),
    account_sid: z.string(),
    subaccount_sid: z.string(),
    developer_account_sid: z.string(),
    application_sid: z.string(),
    permissions: z.array(z.string()),
    date_created: z.string(),
    uri: z.string(),
  })
  .openapi('Authorization');

export const AuthorizationListSchema = z.object({ authorizations: z.array(AuthorizationSchema), ...PageMetaSchema }).openapi('AuthorizationList');

export function parsePermissions(items: string[]): PermissionProfile {
  const profile: PermissionProfile = {};
  for (const item of items) {
    const [resource, verb] = item.split(':') as [PermissionResource, PermissionVerb | '*'];
    const verbs = new Set(profile[resource] ?? []);
    for (const v of verb === '*' ? PERMISSION_VERBS : [verb]) verbs.add(v);
    profile[resource] = [...verbs];
  }
  return profile;
}

export function formatPermissions(profile: PermissionProfile): string[] {
  return Object.entries(profile).flatMap(([resource, verbs]) => (verbs ?? []).map((v) => `${resource}:${v}`));
}

export function renderAuthorization(a: AuthorizationRecord): z.infer<typeof AuthorizationSchema> {
  return {
    sid: a.sid,
    account_sid: a.accountSid,
    subaccount_sid: a.subaccountSid,
    developer_account_sid: a.developerAccountSid,
    application_sid: a.applicationSid,
    permissions: formatPermissions(a.permissions),
    date_created: a.dateCreated,
    uri: `${accountUri(a.accountSid)}/Authorizations/${a.sid}.json`,
  };
}

export function renderAuthorizationList(items: AuthorizationRecord[], meta: PageMeta): z.infer<typeof AuthorizationListSchema> {
  return { authorizations: items.map(renderAuthorization), ...meta };
}
