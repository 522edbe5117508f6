/**
 * Queues/{QueueSid}/Members: calls waiting in a queue (written by the call
 * side's enqueue), by position. POSTing a Url dequeues a member: its call is
 * redirected to that URL and it leaves the queue.
 */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { Redis } from 'ioredis';
import { apiKeys } from '../../store/keys.js';
import { notFound } from '../errors.js';
import { pageMeta, pageOffset, PagingQuery } from '../paging.js';
import { AccountSidParam, accountUri, API_VERSION, errorResponses, formBody, json } from '../schemas/common.js';
import { DequeueForm, MemberListSchema, MemberSchema, renderMember, type Member } from '../schemas/queues.js';
import type { TenantEnv } from '../types.js';

const tags = ['Queues'];
const BASE = `/${API_VERSION}/Accounts/{AccountSid}/Queues/{QueueSid}/Members`;
const QueueParams = AccountSidParam.extend({ QueueSid: z.string().openapi({ param: { name: 'QueueSid', in: 'path' } }) });
const MemberParams = QueueParams.extend({
  CallSid: z.string().openapi({ param: { name: 'CallSid', in: 'path' }, description: 'A member\'s CallSid, or `Front` for the first in line' }),
});

/** A member by CallSid or `Front`, with its 1-based position. */
async function findMember(redis: Redis, key: string, callSid: string): Promise<Member | undefined> {
  if (callSid === 'Front') {
    const [sid, score] = await redis.zrange(key, 0, 0, 'WITHSCORES');
    return sid === undefined ? undefined : { callSid: sid, enqueuedMs: Number(score), position: 1 };
  }
  const [score, rank] = await Promise.all([redis.zscore(key, callSid), redis.zrank(key, callSid)]);
  return score === null || rank === null ? undefined : { callSid, enqueuedMs: Number(score), position: rank + 1 };
}

export function registerQueueMemberRoutes(app: OpenAPIHono<TenantEnv>): void {
  app.openapi(
    createRoute({
      method: 'get',
      path: BASE,
      tags,
      summary: 'List the calls waiting in a queue, front first',
      request: { params: QueueParams, query: PagingQuery },
      responses: { 200: json(MemberListSchema, 'A page of members'), ...errorResponses },
    }),
    async (c) => {
      const { QueueSid } = c.req.valid('param');
      const paging = c.req.valid('query');
      const { stores, deps, now } = c.get('api');
      const account = c.get('target');
      if ((await stores.queues.getOwned(account.sid, QueueSid)) === undefined) throw notFound(`Queue ${QueueSid}`);
      const offset = pageOffset(paging);
      const raw = await deps.redis.zrange(apiKeys(deps.keyPrefix).queueMembers(QueueSid), offset, offset + paging.PageSize, 'WITHSCORES');
      const members: Member[] = [];
      for (let i = 0; i + 1 < raw.length; i += 2) members.push({ callSid: raw[i] as string, enqueuedMs: Number(raw[i + 1]), position: offset + i / 2 + 1 });
      const items = members.slice(0, paging.PageSize);
      const nowMs = now().getTime();
      const meta = pageMeta(`${accountUri(account.sid)}/Queues/${QueueSid}/Members.json`, c.req.url, paging, items.length, members.length > paging.PageSize);
      return c.json({ queue_members: items.map((m) => renderMember(account.sid, QueueSid, m, nowMs)), ...meta }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: `${BASE}/{CallSid}`,
      tags,
      summary: 'Fetch a member (by CallSid, or Front)',
      request: { params: MemberParams },
      responses: { 200: json(MemberSchema, 'The member'), ...errorResponses },
    }),
    async (c) => {
      const { QueueSid, CallSid } = c.req.valid('param');
      const { stores, deps, now } = c.get('api');
      const account = c.get('target');
      if ((await stores.queues.getOwned(account.sid, QueueSid)) === undefined) throw notFound(`Queue ${QueueSid}`);
      const member = await findMember(deps.redis, apiKeys(deps.keyPrefix).queueMembers(QueueSid), CallSid);
      if (member === undefined) throw notFound(`Queue member ${CallSid}`);
      return c.json(renderMember(account.sid, QueueSid, member, now().getTime()), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: `${BASE}/{CallSid}`,
      tags,
      summary: 'Dequeue a member: redirect its call to Url',
      request: { params: MemberParams, body: formBody(DequeueForm) },
      responses: { 200: json(MemberSchema, 'The member, as it was dequeued'), ...errorResponses },
    }),
    async (c) => {
      const { QueueSid, CallSid } = c.req.valid('param');
      const f = c.req.valid('form');
      const { stores, deps, now } = c.get('api');
      const account = c.get('target');
      if ((await stores.queues.getOwned(account.sid, QueueSid)) === undefined) throw notFound(`Queue ${QueueSid}`);
      const key = apiKeys(deps.keyPrefix).queueMembers(QueueSid);
      const member = await findMember(deps.redis, key, CallSid);
      // ZREM decides the race between two dequeues of the same member: only one redirects.
      if (member === undefined || (await deps.redis.zrem(key, member.callSid)) === 0) throw notFound(`Queue member ${CallSid}`);
      const call = await stores.calls.get(member.callSid);
      await deps.callControl.send(call?.region ?? account.homeRegion, { type: 'redirect', callSid: member.callSid, url: f.Url, method: f.Method ?? 'POST' });
      return c.json(renderMember(account.sid, QueueSid, member, now().getTime()), 200);
    },
  );
}
