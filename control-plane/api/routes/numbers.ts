/**
 * IncomingPhoneNumbers: an E.164 number → application (or URLs) and home
 * region. A number belongs to one account at a time (409 on a duplicate).
 */
import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { apiDate } from '../../../regions/store/schema.js';
import { newSid } from '../../store/ids.js';
import { badParam, notFound } from '../errors.js';
import { checkHomeRegion } from '../home-region.js';
import { pageMeta, pageOffset, PagingQuery } from '../paging.js';
import { AccountAndSidParams, AccountSidParam, accountUri, API_VERSION, conflictResponse, errorResponses, formBody, json } from '../schemas/common.js';
import {
  applyNumberForm,
  CreateNumberForm,
  ListNumbersQuery,
  NumberListSchema,
  NumberSchema,
  renderNumber,
  renderNumberList,
  UpdateNumberForm,
} from '../schemas/numbers.js';
import type { Stores, TenantEnv } from '../types.js';

const tags = ['IncomingPhoneNumbers'];
const BASE = `/${API_VERSION}/Accounts/{AccountSid}/IncomingPhoneNumbers`;

async function checkApplication(stores: Stores, accountSid: string, sid: string | undefined): Promise<void> {
  if (sid === undefined || sid === '') return;
  if ((await stores.applications.getOwned(accountSid, sid)) === undefined) {
    throw badParam('VoiceApplicationSid', `${sid} is not an application of this account`);
  }
}

export function registerNumberRoutes(app: OpenAPIHono<TenantEnv>): void {
  app.openapi(
    createRoute({
      method: 'post',
      path: BASE,
      tags,
      summary: 'Provision an incoming number',
      request: { params: AccountSidParam, body: formBody(CreateNumberForm) },
      responses: { 201: json(NumberSchema, 'The number'), ...errorResponses, ...conflictResponse },
    }),
    async (c) => {
      const f = c.req.valid('form');
      const { stores, deps, now } = c.get('api');
      const account = c.get('target');
      // A number without HomeRegion is homed where its account is.
      const homeRegion = checkHomeRegion(deps.regions, f.HomeRegion ?? account.homeRegion);
      await checkApplication(stores, account.sid, f.VoiceApplicationSid);
      const at = now();
      const record = applyNumberForm(
        {
          sid: newSid('PN'),
          accountSid: account.sid,
          phoneNumber: f.PhoneNumber,
          friendlyName: f.PhoneNumber,
          homeRegion,
          dateCreated: apiDate(at),
          dateUpdated: apiDate(at),
        },
        f,
      );
      await stores.numbers.create(record, at.getTime());
      return c.json(renderNumber(record), 201);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: BASE,
      tags,
      summary: 'List incoming numbers',
      request: { params: AccountSidParam, query: ListNumbersQuery.extend(PagingQuery.shape) },
      responses: { 200: json(NumberListSchema, 'A page of numbers'), ...errorResponses },
    }),
    async (c) => {
      const { PhoneNumber, FriendlyName, ...paging } = c.req.valid('query');
      const account = c.get('target');
      const filtered = PhoneNumber !== undefined || FriendlyName !== undefined;
      const page = await c.get('api').stores.numbers.list(account.sid, {
        offset: pageOffset(paging),
        size: paging.PageSize,
        ...(filtered
          ? { filter: (n) => (PhoneNumber === undefined || n.phoneNumber === PhoneNumber) && (FriendlyName === undefined || n.friendlyName === FriendlyName) }
          : {}),
      });
      const meta = pageMeta(`${accountUri(account.sid)}/IncomingPhoneNumbers.json`, c.req.url, paging, page.items.length, page.hasMore);
      return c.json(renderNumberList(page.items, meta), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: `${BASE}/{Sid}`,
      tags,
      summary: 'Fetch an incoming number',
      request: { params: AccountAndSidParams },
      responses: { 200: json(NumberSchema, 'The number'), ...errorResponses },
    }),
    async (c) => {
      const { Sid } = c.req.valid('param');
      const record = await c.get('api').stores.numbers.getOwned(c.get('target').sid, Sid);
      if (record === undefined) throw notFound(`IncomingPhoneNumber ${Sid}`);
      return c.json(renderNumber(record), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: `${BASE}/{Sid}`,
      tags,
      summary: 'Update an incoming number',
      request: { params: AccountAndSidParams, body: formBody(UpdateNumberForm) },
      responses: { 200: json(NumberSchema, 'The number'), ...errorResponses },
    }),
    async (c) => {
      const { Sid } = c.req.valid('param');
      const f = c.req.valid('form');
      const { stores, deps, now } = c.get('api');
      const account = c.get('target');
      const record = await stores.numbers.getOwned(account.sid, Sid);
      if (record === undefined) throw notFound(`IncomingPhoneNumber ${Sid}`);
      if (f.HomeRegion !== undefined) checkHomeRegion(deps.regions, f.HomeRegion);
      await checkApplication(stores, account.sid, f.VoiceApplicationSid);
      const next = { ...applyNumberForm(record, f), dateUpdated: apiDate(now()) };
      await stores.numbers.replace(next);
      return c.json(renderNumber(next), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: `${BASE}/{Sid}`,
      tags,
      summary: 'Release an incoming number',
      request: { params: AccountAndSidParams },
      responses: { 204: { description: 'Released' }, ...errorResponses },
    }),
    async (c) => {
      const { Sid } = c.req.valid('param');
      const { stores } = c.get('api');
      const record = await stores.numbers.getOwned(c.get('target').sid, Sid);
      if (record === undefined) throw notFound(`IncomingPhoneNumber ${Sid}`);
      await stores.numbers.delete(record);
      return c.body(null, 204);
    },
  );
}
