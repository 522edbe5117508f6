import { z } from '@hono/zod-openapi';
import type { ApiKeyRecord } from '../../store/resources.js';
import { PageMetaSchema, type PageMeta } from '../paging.js';
import { FriendlyNameField } from './common.js';

export const KeyForm = z.object({ FriendlyName: FriendlyNameField.optional() });

export const KeySchema = z
  .object({ sid: z.string(), friendly_name: z.string(), date_created: z.string(), date_updated: z.string() })
  .openapi('Key');

/** Only the response to a create carries the secret; it is not stored in clear and never shown again. */
export const NewKeySchema = KeySchema.extend({ secret: z.string() }).openapi('NewKey');

export const KeyListSchema = z.object({ keys: z.array(KeySchema), ...PageMetaSchema }).openapi('KeyList');

export function renderKey(k: ApiKeyRecord): z.infer<typeof KeySchema> {
  return { sid: k.sid, friendly_name: k.friendlyName, date_created: k.dateCreated, date_updated: k.dateUpdated };
}

export function renderKeyList(items: ApiKeyRecord[], meta: PageMeta): z.infer<typeof KeyListSchema> {
  return { keys: items.map(renderKey), ...meta };
}
