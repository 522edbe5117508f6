/**
 * Recordings: written by the media side (saveRecording), listed, fetched and
 * deleted here. Also listed per call under Calls/{CallSid}/Recordings.
 */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { RecordingRecord } from '../../store/resources.js';
import { notFound } from '../errors.js';
import { pageMeta, pageOffset, PagingQuery } from '../paging.js';
import { AccountAndSidParams, AccountSidParam, accountUri, API_VERSION, errorResponses, json } from '../schemas/common.js';
import { ListRecordingsQuery, RecordingListSchema, RecordingSchema, renderRecording, renderRecordingList } from '../schemas/recordings.js';
import type { TenantEnv } from '../types.js';

const tags = ['Recordings'];
const BASE = `/${API_VERSION}/Accounts/{AccountSid}/Recordings`;
const Query = ListRecordingsQuery.extend(PagingQuery.shape);

async function listRecordings(c: Context<TenantEnv>, q: z.infer<typeof Query>, listPath: string) {
  const { CallSid, DateCreated, ...paging } = q;
  const account = c.get('target');
  const filter =
    CallSid === undefined && DateCreated === undefined
      ? undefined
      : (r: RecordingRecord) =>
          (CallSid === undefined || r.callSid === CallSid) &&
          (DateCreated === undefined || new Date(Date.parse(r.dateCreated)).toISOString().slice(0, 10) === DateCreated);
  const page = await c.get('api').stores.recordings.list(account.sid, { offset: pageOffset(paging), size: paging.PageSize, ...(filter ? { filter } : {}) });
  return renderRecordingList(page.items, pageMeta(listPath, c.req.url, paging, page.items.length, page.hasMore));
}

export function registerRecordingRoutes(app: OpenAPIHono<TenantEnv>): void {
  app.openapi(
    createRoute({
      method: 'get',
      path: BASE,
      tags,
      summary: 'List recordings',
      request: { params: AccountSidParam, query: Query },
      responses: { 200: json(RecordingListSchema, 'A page of recordings'), ...errorResponses },
    }),
    async (c) => c.json(await listRecordings(c, c.req.valid('query'), `${accountUri(c.get('target').sid)}/Recordings.json`), 200),
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: `/${API_VERSION}/Accounts/{AccountSid}/Calls/{CallSid}/Recordings`,
      tags,
      summary: 'List the recordings of one call',
      request: { params: AccountSidParam.extend({ CallSid: z.string().openapi({ param: { name: 'CallSid', in: 'path' } }) }), query: Query },
      responses: { 200: json(RecordingListSchema, 'A page of recordings'), ...errorResponses },
    }),
    async (c) => {
      const { CallSid } = c.req.valid('param');
      const account = c.get('target');
      if ((await c.get('api').stores.calls.getOwned(account.sid, CallSid)) === undefined) throw notFound(`Call ${CallSid}`);
      const path = `${accountUri(account.sid)}/Calls/${CallSid}/Recordings.json`;
      return c.json(await listRecordings(c, { ...c.req.valid('query'), CallSid }, path), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: `${BASE}/{Sid}`,
      tags,
      summary: 'Fetch a recording',
      request: { params: AccountAndSidParams },
      responses: { 200: json(RecordingSchema, 'The recording'), ...errorResponses },
    }),
    async (c) => {
      const { Sid } = c.req.valid('param');
      const record = await c.get('api').stores.recordings.getOwned(c.get('target').sid, Sid);
      if (record === undefined) throw notFound(`Recording ${Sid}`);
      return c.json(renderRecording(record), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: `${BASE}/{Sid}`,
      tags,
      summary: 'Delete a recording',
      request: { params: AccountAndSidParams },
      responses: { 204: { description: 'Deleted' }, ...errorResponses },
    }),
    async (c) => {
      const { Sid } = c.req.valid('param');
      const { stores } = c.get('api');
      const record = await stores.recordings.getOwned(c.get('target').sid, Sid);
      if (record === undefined) throw notFound(`Recording ${Sid}`);
      await stores.recordings.remove(record);
      return c.body(null, 204);
    },
  );
}
