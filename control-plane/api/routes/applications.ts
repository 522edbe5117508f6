/** Applications: voice URL + fallback URL + status callback, referenced by numbers and calls. */
import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { apiDate } from '../../../regions/store/schema.js';
import { newSid } from '../../store/ids.js';
import { notFound } from '../errors.js';
import { pageMeta, pageOffset, PagingQuery } from '../paging.js';
import {
  ApplicationForm,
  ApplicationListSchema,
  ApplicationSchema,
  applyApplicationForm,
  ListApplicationsQuery,
  renderApplication,
  renderApplicationList,
} from '../schemas/applications.js';
import { AccountAndSidParams, AccountSidParam, accountUri, API_VERSION, errorResponses, formBody, json } from '../schemas/common.js';
import type { TenantEnv } from '../types.js';

const tags = ['Applications'];
const BASE = `/${API_VERSION}/Accounts/{AccountSid}/Applications`;

export function registerApplicationRoutes(app: OpenAPIHono<TenantEnv>): void {
  app.openapi(
    createRoute({
      method: 'post',
      path: BASE,
      tags,
      summary: 'Create an application',
      request: { params: AccountSidParam, body: formBody(ApplicationForm) },
      responses: { 201: json(ApplicationSchema, 'The application'), ...errorResponses },
    }),
    async (c) => {
      const { stores, now } = c.get('api');
      const account = c.get('target');
      const at = now();
      const record = applyApplicationForm(
        {
          sid: newSid('AP'),
          accountSid: account.sid,
          friendlyName: '',
          voiceMethod: 'POST',
          voiceFallbackMethod: 'POST',
          statusCallbackMethod: 'POST',
          dateCreated: apiDate(at),
          dateUpdated: apiDate(at),
        },
        c.req.valid('form'),
      );
      await stores.applications.insert(record, at.getTime());
      return c.json(renderApplication(record), 201);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: BASE,
      tags,
      summary: 'List applications',
      request: { params: AccountSidParam, query: ListApplicationsQuery.extend(PagingQuery.shape) },
      responses: { 200: json(ApplicationListSchema, 'A page of applications'), ...errorResponses },
    }),
    async (c) => {
      const { FriendlyName, ...paging } = c.req.valid('query');
      const account = c.get('target');
      const page = await c.get('api').stores.applications.list(account.sid, {
        offset: pageOffset(paging),
        size: paging.PageSize,
        ...(FriendlyName === undefined ? {} : { filter: (a) => a.friendlyName === FriendlyName }),
      });
      const meta = pageMeta(`${accountUri(account.sid)}/Applications.json`, c.req.url, paging, page.items.length, page.hasMore);
      return c.json(renderApplicationList(page.items, meta), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: `${BASE}/{Sid}`,
      tags,
      summary: 'Fetch an application',
      request: { params: AccountAndSidParams },
      responses: { 200: json(ApplicationSchema, 'The application'), ...errorResponses },
    }),
    async (c) => {
      const { Sid } = c.req.valid('param');
      const record = await c.get('api').stores.applications.getOwned(c.get('target').sid, Sid);
      if (record === undefined) throw notFound(`Application ${Sid}`);
      return c.json(renderApplication(record), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: `${BASE}/{Sid}`,
      tags,
      summary: 'Update an application',
      request: { params: AccountAndSidParams, body: formBody(ApplicationForm) },
      responses: { 200: json(ApplicationSchema, 'The application'), ...errorResponses },
    }),
    async (c) => {
      const { Sid } = c.req.valid('param');
      const { stores, now } = c.get('api');
      const record = await stores.applications.getOwned(c.get('target').sid, Sid);
      if (record === undefined) throw notFound(`Application ${Sid}`);
      const next = { ...applyApplicationForm(record, c.req.valid('form')), dateUpdated: apiDate(now()) };
      await stores.applications.replace(next);
      return c.json(renderApplication(next), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: `${BASE}/{Sid}`,
      tags,
      summary: 'Delete an application',
      request: { params: AccountAndSidParams },
      responses: { 204: { description: 'Deleted' }, ...errorResponses },
    }),
    async (c) => {
      const { Sid } = c.req.valid('param');
      const { stores } = c.get('api');
      const record = await stores.applications.getOwned(c.get('target').sid, Sid);
      if (record === undefined) throw notFound(`Application ${Sid}`);
      await stores.applications.remove(record);
      return c.body(null, 204);
    },
  );
}
