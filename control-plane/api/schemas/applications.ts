import { z } from '@hono/zod-openapi';
import type { ApplicationRecord } from '../../store/resources.js';
import { PageMetaSchema, type PageMeta } from '../paging.js';
import { TagsField, TagsSchema } from './tags.js';
import { accountUri, API_VERSION, applyClearable, ClearableUrlField, FriendlyNameField, HttpMethodField } from './common.js';

export const ApplicationForm = z.object({
  FriendlyName: FriendlyNameField.optional(),
  VoiceUrl: ClearableUrlField.optional(),
  VoiceMethod: HttpMethodField.optional(),
  VoiceFallbackUrl: ClearableUrlField.optional(),
  VoiceFallbackMethod: HttpMethodField.optional(),
  StatusCallback: ClearableUrlField.optional(),
  StatusCallbackMethod: HttpMethodField.optional(),
  /** Ours: seconds to wait for each instruction document before the fallback URL is used. */
  VoiceTimeout: z.coerce.number().int().min(1).max(15).optional().openapi({ description: 'Seconds (1-15) to wait for each instruction document before VoiceFallbackUrl is requested. Default 5.' }),
  /** Ours: every call through the application carries these tags. */
  Tags: TagsField.optional(),
});

export const ListApplicationsQuery = z.object({ FriendlyName: z.string().optional() });

export const ApplicationSchema = z
  .object({
    sid: z.string(),
    account_sid: z.string(),
    friendly_name: z.string(),
    api_version: z.string(),
    voice_url: z.string().nullable(),
    voice_method: z.string(),
    voice_fallback_url: z.string().nullable(),
    voice_fallback_method: z.string(),
    status_callback: z.string().nullable(),
    status_callback_method: z.string(),
    voice_timeout: z.number(),
    tags: TagsSchema,
    date_created: z.string(),
    date_updated: z.string(),
    uri: z.string(),
  })
  .openapi('Application');

export const ApplicationListSchema = z.object({ applications: z.array(ApplicationSchema), ...PageMetaSchema }).openapi('ApplicationList');

export function renderApplication(a: ApplicationRecord): z.infer<typeof ApplicationSchema> {
  return {
    sid: a.sid,
    account_sid: a.accountSid,
    friendly_name: a.friendlyName,
    api_version: API_VERSION,
    voice_url: a.voiceUrl ?? null,
    voice_method: a.voiceMethod,
    voice_fallback_url: a.voiceFallbackUrl ?? null,
    voice_fallback_method: a.voiceFallbackMethod,
    status_callback: a.statusCallback ?? null,
    status_callback_method: a.statusCallbackMethod,
    voice_timeout: a.voiceTimeout ?? 5,
    tags: a.tags ?? [],
    date_created: a.dateCreated,
    date_updated: a.dateUpdated,
    uri: `${accountUri(a.accountSid)}/Applications/${a.sid}.json`,
  };
}

export function renderApplicationList(items: ApplicationRecord[], meta: PageMeta): z.infer<typeof ApplicationListSchema> {
  return { applications: items.map(renderApplication), ...meta };
}

/** Applies a create/update form to a record: only the fields present change; an empty string clears a URL. */
export function applyApplicationForm(base: ApplicationRecord, f: z.infer<typeof ApplicationForm>): ApplicationRecord {
  const next: ApplicationRecord = { ...base };
  if (f.FriendlyName !== undefined) next.friendlyName = f.FriendlyName;
  applyClearable(next, 'voiceUrl', f.VoiceUrl);
  if (f.VoiceMethod !== undefined) next.voiceMethod = f.VoiceMethod;
  applyClearable(next, 'voiceFallbackUrl', f.VoiceFallbackUrl);
  if (f.VoiceFallbackMethod !== undefined) next.voiceFallbackMethod = f.VoiceFallbackMethod;
  applyClearable(next, 'statusCallback', f.StatusCallback);
  if (f.StatusCallbackMethod !== undefined) next.statusCallbackMethod = f.StatusCallbackMethod;
  if (f.VoiceTimeout !== undefined) next.voiceTimeout = f.VoiceTimeout;
  if (f.Tags !== undefined) next.tags = f.Tags;
  return next;
}
