import { z } from '@hono/zod-openapi';
import type { RecordingRecord } from '../../store/resources.js';
import { PageMetaSchema, type PageMeta } from '../paging.js';
import { accountUri, API_VERSION } from './common.js';

export const ListRecordingsQuery = z.object({
  CallSid: z.string().optional(),
  DateCreated: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be YYYY-MM-DD').optional(),
});

export const RecordingSchema = z
  .object({
    sid: z.string(),
    account_sid: z.string(),
    call_sid: z.string(),
    api_version: z.string(),
    status: z.string(),
    duration: z.string(),
    channels: z.number(),
    source: z.string(),
    start_time: z.string().nullable(),
    price: z.string().nullable(),
    price_unit: z.string(),
    /** Extension: region whose media node recorded it. */
    region: z.string(),
    date_created: z.string(),
    date_updated: z.string(),
    uri: z.string(),
    subresource_uris: z.record(z.string()),
  })
  .openapi('Recording');

export const RecordingListSchema = z.object({ recordings: z.array(RecordingSchema), ...PageMetaSchema }).openapi('RecordingList');

export function renderRecording(r: RecordingRecord): z.infer<typeof RecordingSchema> {
  return {
    sid: r.sid,
    account_sid: r.accountSid,
    call_sid: r.callSid,
    api_version: API_VERSION,
    status: r.status,
    duration: String(r.duration),
    channels: r.channels,
    source: r.source,
    start_time: r.startTime ?? null,
    price: r.price ?? null,
    price_unit: r.priceUnit ?? 'USD',
    region: r.region,
    date_created: r.dateCreated,
    date_updated: r.dateUpdated,
    uri: `${accountUri(r.accountSid)}/Recordings/${r.sid}.json`,
    subresource_uris: {},
  };
}

export function renderRecordingList(items: RecordingRecord[], meta: PageMeta): z.infer<typeof RecordingListSchema> {
  return { recordings: items.map(renderRecording), ...meta };
}
