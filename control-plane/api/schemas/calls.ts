import { z } from '@hono/zod-openapi';
import { CLIENT_IDENTITY_PATTERN } from '../../../regions/core/client-identity.js';
import type { CallRecord } from '../../../regions/store/call-records.js';
import { PageMetaSchema, type PageMeta } from '../paging.js';
import { TagsField, TagsSchema } from './tags.js';
import { accountUri, API_VERSION, E164, HttpMethodField, repeated, UrlField } from './common.js';

/** Who a call may go to or come from: an E.164 number, a SIP URI, or a client name (regions/core/client-identity.ts). */
const CALL_ADDRESS = new RegExp(`${E164.source}|^sips?:[^\\s<>"]{1,256}$|^client:${CLIENT_IDENTITY_PATTERN}$`);
const CallAddress = z.string().regex(CALL_ADDRESS, 'must be an E.164 number, a sip: URI or client:name');
const CallEventField = z.enum(['initiated', 'ringing', 'answered', 'completed']);
const STATUSES = ['queued', 'initiated', 'ringing', 'in-progress', 'completed', 'busy', 'failed', 'no-answer', 'canceled'] as const;

export const CreateCallForm = z.object({
  To: CallAddress,
  From: CallAddress,
  Url: UrlField.optional(),
  ApplicationSid: z.string().regex(/^AP[0-9a-f]{32}$/, 'is not an application SID').optional(),
  Method: HttpMethodField.optional(),
  FallbackUrl: UrlField.optional(),
  FallbackMethod: HttpMethodField.optional(),
  StatusCallback: UrlField.optional(),
  StatusCallbackMethod: HttpMethodField.optional(),
  StatusCallbackEvent: repeated(CallEventField).optional(),
  Timeout: z.coerce.number().int().min(1).max(600).optional(),
  /** Extension: the call's own tags; it carries its application's too. */
  Tags: TagsField.optional(),
});

export const UpdateCallForm = z.object({
  Url: UrlField.optional(),
  Method: HttpMethodField.optional(),
  Status: z.enum(['completed', 'canceled']).optional(),
  FallbackUrl: UrlField.optional(),
  FallbackMethod: HttpMethodField.optional(),
  StatusCallback: UrlField.optional(),
  StatusCallbackMethod: HttpMethodField.optional(),
});

const DateFilter = z.string().refine((v) => !Number.isNaN(Date.parse(v)), 'must be a date (YYYY-MM-DD) or an ISO 8601 time');

export const ListCallsQuery = z.object({
  To: z.string().optional(),
  From: z.string().optional(),
  ParentCallSid: z.string().optional(),
  Status: z.enum(STATUSES).optional(),
  StartTime: DateFilter.optional(),
  'StartTime<': DateFilter.optional(),
  'StartTime>': DateFilter.optional(),
  EndTime: DateFilter.optional(),
  'EndTime<': DateFilter.optional(),
  'EndTime>': DateFilter.optional(),
});

export const CallSchema = z
  .object({
    sid: z.string(),
    account_sid: z.string(),
    parent_call_sid: z.string().nullable(),
    to: z.string(),
    to_formatted: z.string(),
    from: z.string(),
    from_formatted: z.string(),
    phone_number_sid: z.string().nullable(),
    status: z.enum(STATUSES),
    start_time: z.string().nullable(),
    end_time: z.string().nullable(),
    duration: z.string().nullable(),
    price: z.string().nullable(),
    price_unit: z.string(),
    direction: z.string(),
    answered_by: z.string().nullable(),
    api_version: z.string(),
    forwarded_from: z.string().nullable(),
    group_sid: z.string().nullable(),
    caller_name: z.string().nullable(),
    queue_time: z.string(),
    trunk_sid: z.string().nullable(),
    /** Extension: the home region anchoring the call. */
    region: z.string(),
    /** Extension: the call's tags (its own, its number's and its application's). */
    tags: TagsSchema,
    date_created: z.string(),
    date_updated: z.string(),
    uri: z.string(),
    subresource_uris: z.record(z.string()),
  })
  .openapi('Call');

export const CallListSchema = z.object({ calls: z.array(CallSchema), ...PageMetaSchema }).openapi('CallList');

export function renderCall(r: CallRecord): z.infer<typeof CallSchema> {
  const base = `${accountUri(r.accountSid)}/Calls/${r.sid}`;
  return {
    sid: r.sid,
    account_sid: r.accountSid,
    parent_call_sid: r.parentCallSid ?? null,
    to: r.to,
    to_formatted: r.to,
    from: r.from,
    from_formatted: r.from,
    phone_number_sid: null,
    status: r.status,
    start_time: r.startTime ?? null,
    end_time: r.endTime ?? null,
    duration: r.duration === undefined ? null : String(r.duration),
    price: r.price ?? null,
    price_unit: r.priceUnit ?? 'USD',
    direction: r.direction,
    answered_by: null,
    api_version: API_VERSION,
    forwarded_from: null,
    group_sid: null,
    caller_name: null,
    queue_time: '0',
    trunk_sid: null,
    region: r.region,
    tags: r.tags ?? [],
    date_created: r.dateCreated,
    date_updated: r.dateUpdated,
    uri: `${base}.json`,
    subresource_uris: { recordings: `${base}/Recordings.json` },
  };
}

export function renderCallList(items: CallRecord[], meta: PageMeta): z.infer<typeof CallListSchema> {
  return { calls: items.map(renderCall), ...meta };
}

type CallFilters = z.infer<typeof ListCallsQuery>;

/** `=` matches the day (or the instant), `<` on or before, `>` on or after — dates are UTC days. */
function timeMatches(value: string | undefined, eq?: string, before?: string, after?: string): boolean {
  if (eq === undefined && before === undefined && after === undefined) return true;
  if (value === undefined) return false;
  const t = Date.parse(value);
  const dayOnly = (s: string) => /^\d{4}-\d{2}-\d{2}$/.test(s);
  const day = new Date(t).toISOString().slice(0, 10);
  if (eq !== undefined && (dayOnly(eq) ? day !== eq : t !== Date.parse(eq))) return false;
  if (before !== undefined && (dayOnly(before) ? day > before : t > Date.parse(before))) return false;
  if (after !== undefined && (dayOnly(after) ? day < after : t < Date.parse(after))) return false;
  return true;
}

export function callFilter(q: CallFilters): ((r: CallRecord) => boolean) | undefined {
  const active = Object.entries(q).some(([, v]) => v !== undefined);
  if (!active) return undefined;
  return (r) =>
    (q.To === undefined || r.to === q.To) &&
    (q.From === undefined || r.from === q.From) &&
    (q.ParentCallSid === undefined || r.parentCallSid === q.ParentCallSid) &&
    (q.Status === undefined || r.status === q.Status) &&
    // A call that has not started yet is placed by its creation time.
    timeMatches(r.startTime ?? r.dateCreated, q.StartTime, q['StartTime<'], q['StartTime>']) &&
    timeMatches(r.endTime, q.EndTime, q['EndTime<'], q['EndTime>']);
}
