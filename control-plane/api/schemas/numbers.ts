import { z } from '@hono/zod-openapi';
import type { IncomingNumberRecord } from '../../../regions/store/numbers.js';
import { PageMetaSchema, type PageMeta } from '../paging.js';
import { TagsField, TagsSchema } from './tags.js';
import { accountUri, API_VERSION, applyClearable, ClearableUrlField, E164Field, FriendlyNameField, HttpMethodField } from './common.js';

const ApplicationSidField = z.string().regex(/^AP[0-9a-f]{32}$/, 'is not an application SID');

export const UpdateNumberForm = z.object({
  FriendlyName: FriendlyNameField.optional(),
  VoiceApplicationSid: z.union([ApplicationSidField, z.literal('')]).optional(),
  VoiceUrl: ClearableUrlField.optional(),
  VoiceMethod: HttpMethodField.optional(),
  VoiceFallbackUrl: ClearableUrlField.optional(),
  VoiceFallbackMethod: HttpMethodField.optional(),
  StatusCallback: ClearableUrlField.optional(),
  StatusCallbackMethod: HttpMethodField.optional(),
  /** Extension: region the number's calls are anchored in, any region of the catalog (create default: the account's home region). */
  HomeRegion: z.string().max(64).optional(),
  /** Extension: every call to the number carries these tags. */
  Tags: TagsField.optional(),
});

export const CreateNumberForm = UpdateNumberForm.extend({
  PhoneNumber: E164Field,
});

export const ListNumbersQuery = z.object({ PhoneNumber: z.string().optional(), FriendlyName: z.string().optional() });

export const NumberSchema = z
  .object({
    sid: z.string(),
    account_sid: z.string(),
    phone_number: z.string(),
    friendly_name: z.string(),
    voice_application_sid: z.string().nullable(),
    voice_url: z.string().nullable(),
    voice_method: z.string(),
    voice_fallback_url: z.string().nullable(),
    voice_fallback_method: z.string(),
    status_callback: z.string().nullable(),
    status_callback_method: z.string(),
    capabilities: z.object({ voice: z.boolean(), sms: z.boolean(), mms: z.boolean(), fax: z.boolean() }),
    home_region: z.string(),
    tags: TagsSchema,
    api_version: z.string(),
    date_created: z.string(),
    date_updated: z.string(),
    uri: z.string(),
  })
  .openapi('IncomingPhoneNumber');

export const NumberListSchema = z.object({ incoming_phone_numbers: z.array(NumberSchema), ...PageMetaSchema }).openapi('IncomingPhoneNumberList');

export function renderNumber(n: IncomingNumberRecord): z.infer<typeof NumberSchema> {
  return {
    sid: n.sid,
    account_sid: n.accountSid,
    phone_number: n.phoneNumber,
    friendly_name: n.friendlyName,
    voice_application_sid: n.applicationSid ?? null,
    voice_url: n.voiceUrl ?? null,
    voice_method: n.voiceMethod ?? 'POST',
    voice_fallback_url: n.voiceFallbackUrl ?? null,
    voice_fallback_method: n.voiceFallbackMethod ?? 'POST',
    status_callback: n.statusCallback ?? null,
    status_callback_method: n.statusCallbackMethod ?? 'POST',
    capabilities: { voice: true, sms: false, mms: false, fax: false },
    home_region: n.homeRegion,
    tags: n.tags ?? [],
    api_version: API_VERSION,
    date_created: n.dateCreated,
    date_updated: n.dateUpdated,
    uri: `${accountUri(n.accountSid)}/IncomingPhoneNumbers/${n.sid}.json`,
  };
}

export function renderNumberList(items: IncomingNumberRecord[], meta: PageMeta): z.infer<typeof NumberListSchema> {
  return { incoming_phone_numbers: items.map(renderNumber), ...meta };
}

/** Applies the voice fields of a form; an empty `VoiceApplicationSid` or URL clears it (detaches the application). */
export function applyNumberForm(base: IncomingNumberRecord, f: z.infer<typeof UpdateNumberForm>): IncomingNumberRecord {
  const next: IncomingNumberRecord = { ...base };
  if (f.FriendlyName !== undefined) next.friendlyName = f.FriendlyName;
  applyClearable(next, 'applicationSid', f.VoiceApplicationSid);
  applyClearable(next, 'voiceUrl', f.VoiceUrl);
  if (f.VoiceMethod !== undefined) next.voiceMethod = f.VoiceMethod;
  applyClearable(next, 'voiceFallbackUrl', f.VoiceFallbackUrl);
  if (f.VoiceFallbackMethod !== undefined) next.voiceFallbackMethod = f.VoiceFallbackMethod;
  applyClearable(next, 'statusCallback', f.StatusCallback);
  if (f.StatusCallbackMethod !== undefined) next.statusCallbackMethod = f.StatusCallbackMethod;
  // Checked against the catalog by the route before it gets here.
  if (f.HomeRegion !== undefined) next.homeRegion = f.HomeRegion;
  if (f.Tags !== undefined) next.tags = f.Tags;
  return next;
}
