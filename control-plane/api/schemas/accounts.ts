import { z } from '@hono/zod-openapi';
import type { AccountRecord } from '../../../regions/store/schema.js';
import { PageMetaSchema, type PageMeta } from '../paging.js';
import { accountUri, FriendlyNameField } from './common.js';

export const AccountSchema = z
  .object({
    sid: z.string(),
    /** Present only for the account itself and its parent, authenticated with the auth token (never to API keys or authorized developers). */
    auth_token: z.string().optional(),
    friendly_name: z.string(),
    status: z.enum(['active', 'suspended', 'closed']),
    owner_account_sid: z.string(),
    type: z.literal('Full'),
    home_region: z.string(),
    date_created: z.string(),
    date_updated: z.string(),
    uri: z.string(),
    subresource_uris: z.record(z.string()),
  })
  .openapi('Account');

export const AccountListSchema = z.object({ accounts: z.array(AccountSchema), ...PageMetaSchema }).openapi('AccountList');

export const CreateAccountForm = z.object({
  FriendlyName: FriendlyNameField.optional(),
  /** Extension: home region of the subaccount, any region of the catalog (default: the parent's). */
  HomeRegion: z.string().max(64).optional(),
});

export const UpdateAccountForm = z.object({
  FriendlyName: FriendlyNameField.optional(),
  Status: z.enum(['active', 'suspended', 'closed']).optional(),
});

export const ListAccountsQuery = z.object({
  FriendlyName: z.string().optional(),
  Status: z.enum(['active', 'suspended', 'closed']).optional(),
});

const SUBRESOURCES = ['Applications', 'IncomingPhoneNumbers', 'Calls', 'Recordings', 'Queues', 'Usage', 'Keys', 'Authorizations'];

/** `showCredentials`: whether the caller may see the auth token (access.ts `mayViewCredentials`). */
export function renderAccount(a: AccountRecord, showCredentials: boolean): z.infer<typeof AccountSchema> {
  const base = accountUri(a.sid);
  const subresource_uris: Record<string, string> = {};
  for (const s of SUBRESOURCES) subresource_uris[s.replace(/([a-z])([A-Z])/g, '$1_$2').toLowerCase()] = `${base}/${s}.json`;
  return {
    sid: a.sid,
    ...(showCredentials ? { auth_token: a.authToken } : {}),
    friendly_name: a.friendlyName,
    status: a.status,
    owner_account_sid: a.ownerAccountSid ?? a.sid,
    type: 'Full',
    home_region: a.homeRegion,
    date_created: a.dateCreated,
    date_updated: a.dateUpdated,
    uri: `${base}.json`,
    subresource_uris,
  };
}

export function renderAccountList(items: AccountRecord[], meta: PageMeta, showCredentials: (a: AccountRecord) => boolean): z.infer<typeof AccountListSchema> {
  return { accounts: items.map((a) => renderAccount(a, showCredentials(a))), ...meta };
}
