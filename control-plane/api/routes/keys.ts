/**
 * Keys: API key SID + secret as an alternative to the auth token, and what
 * signs access tokens. Managing keys needs the auth token: a request
 * authenticated by an API key is refused here (403), so a leaked key cannot
 * mint more keys. The secret is in the create response only; the record keeps
 * its hash and, when the platform has a secrets key, the secret sealed under it
 * (regions/store/api-keys.ts), never rendered.
 */
import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { apiDate } from '../../../regions/store/schema.js';
import { newKeySecret, newSid } from '../../store/ids.js';
import type { ApiKeyRecord } from '../../store/resources.js';
import { notFound } from '../errors.js';
import { hashSecret } from '../middleware/auth.js';
import { authTokenOnly } from '../middleware/auth-token-only.js';
import { pageMeta, pageOffset, PagingQuery } from '../paging.js';
import { AccountAndSidParams, AccountSidParam, accountUri, API_VERSION, errorResponses, formBody, json } from '../schemas/common.js';
import { KeyForm, KeyListSchema, KeySchema, NewKeySchema, renderKey, renderKeyList } from '../schemas/keys.js';
import type { TenantEnv } from '../types.js';

const tags = ['Keys'];
const BASE = `/${API_VERSION}/Accounts/{AccountSid}/Keys`;

const keyManagement = authTokenOnly('Keys');

export function registerKeyRoutes(app: OpenAPIHono<TenantEnv>): void {
  app.openapi(
    createRoute({
      method: 'post',
      path: BASE,
      tags,
      summary: 'Create an API key (the secret is in this response only)',
      middleware: [keyManagement],
      request: { params: AccountSidParam, body: formBody(KeyForm) },
      responses: { 201: json(NewKeySchema, 'The key with its secret'), ...errorResponses },
    }),
    async (c) => {
      const f = c.req.valid('form');
      const { stores, now, deps } = c.get('api');
      const at = now();
      const secret = newKeySecret();
      const sid = newSid('SK');
      const record: ApiKeyRecord = {
        sid,
        accountSid: c.get('target').sid,
        friendlyName: f.FriendlyName ?? '',
        secretHash: hashSecret(secret),
        // Sealed with the key's SID as associated data: it opens for this key only.
        ...(deps.secrets === undefined ? {} : { sealedSecret: deps.secrets.seal(secret, sid) }),
        dateCreated: apiDate(at),
        dateUpdated: apiDate(at),
      };
      await stores.apiKeys.insert(record, at.getTime());
      return c.json({ ...renderKey(record), secret }, 201);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: BASE,
      tags,
      summary: 'List API keys',
      middleware: [keyManagement],
      request: { params: AccountSidParam, query: PagingQuery },
      responses: { 200: json(KeyListSchema, 'A page of keys'), ...errorResponses },
    }),
    async (c) => {
      const paging = c.req.valid('query');
      const account = c.get('target');
      const page = await c.get('api').stores.apiKeys.list(account.sid, { offset: pageOffset(paging), size: paging.PageSize });
      return c.json(renderKeyList(page.items, pageMeta(`${accountUri(account.sid)}/Keys.json`, c.req.url, paging, page.items.length, page.hasMore)), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: `${BASE}/{Sid}`,
      tags,
      summary: 'Fetch an API key',
      middleware: [keyManagement],
      request: { params: AccountAndSidParams },
      responses: { 200: json(KeySchema, 'The key'), ...errorResponses },
    }),
    async (c) => {
      const { Sid } = c.req.valid('param');
      const record = await c.get('api').stores.apiKeys.getOwned(c.get('target').sid, Sid);
      if (record === undefined) throw notFound(`Key ${Sid}`);
      return c.json(renderKey(record), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: `${BASE}/{Sid}`,
      tags,
      summary: 'Rename an API key',
      middleware: [keyManagement],
      request: { params: AccountAndSidParams, body: formBody(KeyForm) },
      responses: { 200: json(KeySchema, 'The key'), ...errorResponses },
    }),
    async (c) => {
      const { Sid } = c.req.valid('param');
      const f = c.req.valid('form');
      const { stores, now } = c.get('api');
      const record = await stores.apiKeys.getOwned(c.get('target').sid, Sid);
      if (record === undefined) throw notFound(`Key ${Sid}`);
      const next = { ...record, ...(f.FriendlyName === undefined ? {} : { friendlyName: f.FriendlyName }), dateUpdated: apiDate(now()) };
      await stores.apiKeys.replace(next);
      return c.json(renderKey(next), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: `${BASE}/{Sid}`,
      tags,
      summary: 'Revoke an API key',
      middleware: [keyManagement],
      request: { params: AccountAndSidParams },
      responses: { 204: { description: 'Revoked' }, ...errorResponses },
    }),
    async (c) => {
      const { Sid } = c.req.valid('param');
      const { stores } = c.get('api');
      const record = await stores.apiKeys.getOwned(c.get('target').sid, Sid);
      if (record === undefined) throw notFound(`Key ${Sid}`);
      await stores.apiKeys.remove(record);
      return c.body(null, 204);
    },
  );
}
