/**
 * Queues: create, list, fetch, update (FriendlyName, MaxSize), delete (only
 * when empty). Writes go through the shared QueueStore (regions/store/queues.ts)
 * so the FriendlyName index the call side's `Enqueue` uses stays right; names
 * are unique within an account (409). CurrentSize and AverageWaitTime are the
 * live queue state.
 */
import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { QueueStore, type QueueRecord } from '../../../regions/store/queues.js';
import { apiDate } from '../../../regions/store/schema.js';
import { newSid } from '../../store/ids.js';
import { apiError, notFound } from '../errors.js';
import { pageMeta, pageOffset, PagingQuery } from '../paging.js';
import { AccountAndSidParams, AccountSidParam, accountUri, API_VERSION, conflictResponse, errorResponses, formBody, json } from '../schemas/common.js';
import {
  CreateQueueForm,
  DEFAULT_QUEUE_SIZE,
  QueueListSchema,
  QueueSchema,
  renderQueue,
  renderQueueList,
  UpdateQueueForm,
} from '../schemas/queues.js';
import type { TenantEnv } from '../types.js';

const tags = ['Queues'];
const BASE = `/${API_VERSION}/Accounts/{AccountSid}/Queues`;

function queueState(c: Context<TenantEnv>): QueueStore {
  const { deps } = c.get('api');
  return new QueueStore(deps.redis, deps.keyPrefix);
}

function nameTaken(name: string) {
  return apiError('CONFLICT', `A queue named "${name}" already exists in this account`, 20409, 'FriendlyName');
}

export function registerQueueRoutes(app: OpenAPIHono<TenantEnv>): void {
  app.openapi(
    createRoute({
      method: 'post',
      path: BASE,
      tags,
      summary: 'Create a queue',
      request: { params: AccountSidParam, body: formBody(CreateQueueForm) },
      responses: { 201: json(QueueSchema, 'The queue'), ...errorResponses, ...conflictResponse },
    }),
    async (c) => {
      const f = c.req.valid('form');
      const at = c.get('api').now();
      const record: QueueRecord = {
        sid: newSid('QU'),
        accountSid: c.get('target').sid,
        friendlyName: f.FriendlyName,
        maxSize: f.MaxSize ?? DEFAULT_QUEUE_SIZE,
        dateCreated: apiDate(at),
        dateUpdated: apiDate(at),
      };
      const { created } = await queueState(c).create(record, at.getTime());
      if (!created) throw nameTaken(record.friendlyName);
      return c.json(renderQueue(record, { size: 0, averageWaitMs: 0 }), 201);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: BASE,
      tags,
      summary: 'List queues',
      request: { params: AccountSidParam, query: PagingQuery },
      responses: { 200: json(QueueListSchema, 'A page of queues'), ...errorResponses },
    }),
    async (c) => {
      const paging = c.req.valid('query');
      const { stores, now } = c.get('api');
      const account = c.get('target');
      const page = await stores.queues.list(account.sid, { offset: pageOffset(paging), size: paging.PageSize });
      const nowMs = now().getTime();
      const state = queueState(c);
      const items = await Promise.all(page.items.map(async (q) => renderQueue(q, await state.waitStats(q.sid, nowMs))));
      const meta = pageMeta(`${accountUri(account.sid)}/Queues.json`, c.req.url, paging, items.length, page.hasMore);
      return c.json(renderQueueList(items, meta), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: `${BASE}/{Sid}`,
      tags,
      summary: 'Fetch a queue',
      request: { params: AccountAndSidParams },
      responses: { 200: json(QueueSchema, 'The queue'), ...errorResponses },
    }),
    async (c) => {
      const { Sid } = c.req.valid('param');
      const { stores, now } = c.get('api');
      const record = await stores.queues.getOwned(c.get('target').sid, Sid);
      if (record === undefined) throw notFound(`Queue ${Sid}`);
      return c.json(renderQueue(record, await queueState(c).waitStats(Sid, now().getTime())), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: `${BASE}/{Sid}`,
      tags,
      summary: 'Update a queue',
      request: { params: AccountAndSidParams, body: formBody(UpdateQueueForm) },
      responses: { 200: json(QueueSchema, 'The queue'), ...errorResponses, ...conflictResponse },
    }),
    async (c) => {
      const { Sid } = c.req.valid('param');
      const f = c.req.valid('form');
      const { stores, now } = c.get('api');
      const record = await stores.queues.getOwned(c.get('target').sid, Sid);
      if (record === undefined) throw notFound(`Queue ${Sid}`);
      const state = queueState(c);
      const patch = { ...(f.FriendlyName === undefined ? {} : { friendlyName: f.FriendlyName }), ...(f.MaxSize === undefined ? {} : { maxSize: f.MaxSize }) };
      const updated = await state.update(Sid, record.accountSid, patch, apiDate(now()));
      if (updated.status === 'gone') throw notFound(`Queue ${Sid}`);
      if (updated.status === 'name-taken') throw nameTaken(f.FriendlyName ?? '');
      return c.json(renderQueue(updated.record, await state.waitStats(Sid, now().getTime())), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: `${BASE}/{Sid}`,
      tags,
      summary: 'Delete an empty queue',
      request: { params: AccountAndSidParams },
      responses: { 204: { description: 'Deleted' }, ...errorResponses, ...conflictResponse },
    }),
    async (c) => {
      const { Sid } = c.req.valid('param');
      const { stores } = c.get('api');
      const record = await stores.queues.getOwned(c.get('target').sid, Sid);
      if (record === undefined) throw notFound(`Queue ${Sid}`);
      // One script checks emptiness and deletes, so a call enqueued meanwhile is never orphaned.
      const result = await queueState(c).delete(Sid, record.accountSid);
      if (result === 'gone') throw notFound(`Queue ${Sid}`);
      if (result === 'not-empty') throw apiError('CONFLICT', `Queue ${Sid} still has members`, 20409);
      return c.body(null, 204);
    },
  );
}
