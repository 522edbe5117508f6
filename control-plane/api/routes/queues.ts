/** Queues: create, list, fetch, update (FriendlyName, MaxSize), delete (only when empty). */
import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import type { Redis } from 'ioredis';
import { apiDate } from '../../../regions/store/schema.js';
import { newSid } from '../../store/ids.js';
import { apiKeys } from '../../store/keys.js';
import type { QueueRecord } from '../../store/resources.js';
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
  type QueueStats,
} from '../schemas/queues.js';
import type { TenantEnv } from '../types.js';

const tags = ['Queues'];
const BASE = `/${API_VERSION}/Accounts/{AccountSid}/Queues`;

async function queueStats(redis: Redis, prefix: string, queueSid: string, nowMs: number): Promise<QueueStats> {
  const key = apiKeys(prefix).queueMembers(queueSid);
  const raw = await redis.zrange(key, 0, -1, 'WITHSCORES');
  let waitSum = 0;
  for (let i = 1; i < raw.length; i += 2) waitSum += Math.max(0, nowMs - Number(raw[i]));
  const size = raw.length / 2;
  return { size, averageWaitSeconds: size === 0 ? 0 : Math.floor(waitSum / size / 1000) };
}

export function registerQueueRoutes(app: OpenAPIHono<TenantEnv>): void {
  app.openapi(
    createRoute({
      method: 'post',
      path: BASE,
      tags,
      summary: 'Create a queue',
      request: { params: AccountSidParam, body: formBody(CreateQueueForm) },
      responses: { 201: json(QueueSchema, 'The queue'), ...errorResponses },
    }),
    async (c) => {
      const f = c.req.valid('form');
      const { stores, now } = c.get('api');
      const at = now();
      const record: QueueRecord = {
        sid: newSid('QU'),
        accountSid: c.get('target').sid,
        friendlyName: f.FriendlyName,
        maxSize: f.MaxSize ?? DEFAULT_QUEUE_SIZE,
        dateCreated: apiDate(at),
        dateUpdated: apiDate(at),
      };
      await stores.queues.insert(record, at.getTime());
      return c.json(renderQueue(record, { size: 0, averageWaitSeconds: 0 }), 201);
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
      const { stores, deps, now } = c.get('api');
      const account = c.get('target');
      const page = await stores.queues.list(account.sid, { offset: pageOffset(paging), size: paging.PageSize });
      const nowMs = now().getTime();
      const items = await Promise.all(page.items.map(async (q) => renderQueue(q, await queueStats(deps.redis, deps.keyPrefix, q.sid, nowMs))));
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
      const { stores, deps, now } = c.get('api');
      const record = await stores.queues.getOwned(c.get('target').sid, Sid);
      if (record === undefined) throw notFound(`Queue ${Sid}`);
      return c.json(renderQueue(record, await queueStats(deps.redis, deps.keyPrefix, Sid, now().getTime())), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: `${BASE}/{Sid}`,
      tags,
      summary: 'Update a queue',
      request: { params: AccountAndSidParams, body: formBody(UpdateQueueForm) },
      responses: { 200: json(QueueSchema, 'The queue'), ...errorResponses },
    }),
    async (c) => {
      const { Sid } = c.req.valid('param');
      const f = c.req.valid('form');
      const { stores, deps, now } = c.get('api');
      const record = await stores.queues.getOwned(c.get('target').sid, Sid);
      if (record === undefined) throw notFound(`Queue ${Sid}`);
      const next: QueueRecord = {
        ...record,
        ...(f.FriendlyName === undefined ? {} : { friendlyName: f.FriendlyName }),
        ...(f.MaxSize === undefined ? {} : { maxSize: f.MaxSize }),
        dateUpdated: apiDate(now()),
      };
      await stores.queues.replace(next);
      return c.json(renderQueue(next, await queueStats(deps.redis, deps.keyPrefix, Sid, now().getTime())), 200);
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
      const { stores, deps } = c.get('api');
      const record = await stores.queues.getOwned(c.get('target').sid, Sid);
      if (record === undefined) throw notFound(`Queue ${Sid}`);
      const membersKey = apiKeys(deps.keyPrefix).queueMembers(Sid);
      if ((await deps.redis.zcard(membersKey)) > 0) throw apiError('CONFLICT', `Queue ${Sid} still has members`, 20409);
      await stores.queues.remove(record, (tx) => tx.del(membersKey));
      return c.body(null, 204);
    },
  );
}
