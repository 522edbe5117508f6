import { z } from '@hono/zod-openapi';
import { DEFAULT_QUEUE_MAX_SIZE, MAX_QUEUE_MAX_SIZE, type QueueMember, type QueueRecord, type QueueWaitStats } from '../../../regions/store/queues.js';
import { apiDate } from '../../../regions/store/schema.js';
import { PageMetaSchema, type PageMeta } from '../paging.js';
import { accountUri, FriendlyNameField, HttpMethodField, UrlField } from './common.js';

export const MAX_QUEUE_SIZE = MAX_QUEUE_MAX_SIZE;
export const DEFAULT_QUEUE_SIZE = DEFAULT_QUEUE_MAX_SIZE;

const MaxSizeField = z
  .string()
  .regex(/^\d{1,5}$/, 'must be a whole number')
  .transform(Number)
  .pipe(z.number().min(1).max(MAX_QUEUE_SIZE));

export const CreateQueueForm = z.object({ FriendlyName: FriendlyNameField, MaxSize: MaxSizeField.optional() });
export const UpdateQueueForm = z.object({ FriendlyName: FriendlyNameField.optional(), MaxSize: MaxSizeField.optional() });
export const DequeueForm = z.object({ Url: UrlField, Method: HttpMethodField.optional() });

export const QueueSchema = z
  .object({
    sid: z.string(),
    account_sid: z.string(),
    friendly_name: z.string(),
    current_size: z.number(),
    max_size: z.number(),
    average_wait_time: z.number(),
    date_created: z.string(),
    date_updated: z.string(),
    uri: z.string(),
    subresource_uris: z.record(z.string()),
  })
  .openapi('Queue');

export const QueueListSchema = z.object({ queues: z.array(QueueSchema), ...PageMetaSchema }).openapi('QueueList');

export const MemberSchema = z
  .object({
    call_sid: z.string(),
    queue_sid: z.string(),
    date_enqueued: z.string(),
    position: z.number(),
    wait_time: z.number(),
    uri: z.string(),
  })
  .openapi('QueueMember');

export const MemberListSchema = z.object({ queue_members: z.array(MemberSchema), ...PageMetaSchema }).openapi('QueueMemberList');

/** CurrentSize and AverageWaitTime come from the live queue state (QueueStore.waitStats). */
export function renderQueue(q: QueueRecord, stats: QueueWaitStats): z.infer<typeof QueueSchema> {
  const base = `${accountUri(q.accountSid)}/Queues/${q.sid}`;
  return {
    sid: q.sid,
    account_sid: q.accountSid,
    friendly_name: q.friendlyName,
    current_size: stats.size,
    max_size: q.maxSize,
    average_wait_time: Math.floor(stats.averageWaitMs / 1000),
    date_created: q.dateCreated,
    date_updated: q.dateUpdated,
    uri: `${base}.json`,
    subresource_uris: { members: `${base}/Members.json` },
  };
}

export type Member = QueueMember;

export function renderMember(accountSid: string, queueSid: string, m: Member, nowMs: number): z.infer<typeof MemberSchema> {
  return {
    call_sid: m.callSid,
    queue_sid: queueSid,
    date_enqueued: apiDate(new Date(Math.floor(m.enqueuedMs))),
    position: m.position,
    wait_time: Math.max(0, Math.floor((nowMs - m.enqueuedMs) / 1000)),
    uri: `${accountUri(accountSid)}/Queues/${queueSid}/Members/${m.callSid}.json`,
  };
}

export function renderQueueList(items: z.infer<typeof QueueSchema>[], meta: PageMeta): z.infer<typeof QueueListSchema> {
  return { queues: items, ...meta };
}
