import { z } from '@hono/zod-openapi';
import type { QueueRecord } from '../../store/resources.js';
import { PageMetaSchema, type PageMeta } from '../paging.js';
import { accountUri, FriendlyNameField, HttpMethodField, UrlField } from './common.js';

export const MAX_QUEUE_SIZE = 5000;
export const DEFAULT_QUEUE_SIZE = 100;

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

export interface QueueStats {
  size: number;
  averageWaitSeconds: number;
}

export function renderQueue(q: QueueRecord, stats: QueueStats): z.infer<typeof QueueSchema> {
  const base = `${accountUri(q.accountSid)}/Queues/${q.sid}`;
  return {
    sid: q.sid,
    account_sid: q.accountSid,
    friendly_name: q.friendlyName,
    current_size: stats.size,
    max_size: q.maxSize,
    average_wait_time: stats.averageWaitSeconds,
    date_created: q.dateCreated,
    date_updated: q.dateUpdated,
    uri: `${base}.json`,
    subresource_uris: { members: `${base}/Members.json` },
  };
}

export interface Member {
  callSid: string;
  enqueuedMs: number;
  /** 1-based. */
  position: number;
}

export function renderMember(accountSid: string, queueSid: string, m: Member, nowMs: number): z.infer<typeof MemberSchema> {
  return {
    call_sid: m.callSid,
    queue_sid: queueSid,
    date_enqueued: new Date(m.enqueuedMs).toUTCString().replace('GMT', '+0000'),
    position: m.position,
    wait_time: Math.max(0, Math.floor((nowMs - m.enqueuedMs) / 1000)),
    uri: `${accountUri(accountSid)}/Queues/${queueSid}/Members/${m.callSid}.json`,
  };
}

export function renderQueueList(items: z.infer<typeof QueueSchema>[], meta: PageMeta): z.infer<typeof QueueListSchema> {
  return { queues: items, ...meta };
}
