/**
 * Queues/{QueueSid}/Members: calls waiting in a queue (written by the call
 * side's `Enqueue`, regions/store/call-queues.ts), front first, with their
 * positions. POSTing a Url dequeues a member: it leaves the queue atomically
 * (the same scripts the call side's `Dial`→`Queue` uses, so one member is
 * never taken twice) and its call is redirected to that URL.
 */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { QueueStore } from '../../../regions/store/queues.js';
import { notFound } from '../errors.js';
import { pageMeta, pageOffset, PagingQuery } from '../paging.js';
import { AccountSidParam, accountUri, API_VERSION, errorResponses, formBody, json } from '../schemas/common.js';
import { DequeueForm, MemberListSchema, MemberSchema, renderMember } from '../schemas/queues.js';
import type { TenantEnv } from '../types.js';

const tags = ['Queues'];
const BASE = `/${API_VERSION}/Accounts/{AccountSid}/Queues/{QueueSid}/Members`;
const QueueParams = AccountSidParam.extend({ QueueSid: z.string().openapi({ param: { name: 'QueueSid', in: 'path' } }) });
const MemberParams = QueueParams.extend({
  CallSid: z.string().openapi({ param: { name: 'CallSid', in: 'path' }, description: 'A member\'s CallSid, or `Front` for the first in line' }),
});

const FRONT = 'Front';

function queueState(c: Context<TenantEnv>): QueueStore {
  const { deps } = c.get('api');
  return new QueueStore(deps.redis, deps.keyPrefix);
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
      const { stores, now } = c.get('api');
      const account = c.get('target');
      if ((await stores.queues.getOwned(account.sid, QueueSid)) === undefined) throw notFound(`Queue ${QueueSid}`);
      // One more than the page tells whether there is a next page.
      const members = await queueState(c).members(QueueSid, pageOffset(paging), paging.PageSize + 1);
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
      const { stores, now } = c.get('api');
      const account = c.get('target');
      if ((await stores.queues.getOwned(account.sid, QueueSid)) === undefined) throw notFound(`Queue ${QueueSid}`);
      const state = queueState(c);
      const member = CallSid === FRONT ? (await state.members(QueueSid, 0, 1))[0] : await state.member(QueueSid, CallSid);
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
      const state = queueState(c);
      // Removal is one script: of two concurrent dequeues (API or call side), only one gets the member and redirects it.
      const member = CallSid === FRONT ? await state.popFront(QueueSid) : await state.removeMember(QueueSid, CallSid);
      if (member === undefined) throw notFound(`Queue member ${CallSid}`);
      const call = await stores.calls.get(member.callSid);
      await deps.callControl.send(call?.region ?? account.homeRegion, { type: 'redirect', callSid: member.callSid, url: f.Url, method: f.Method ?? 'POST' });
      return c.json(renderMember(account.sid, QueueSid, member, now().getTime()), 200);
    },
  );
}
