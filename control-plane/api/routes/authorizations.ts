/**
 * Application authorization. A user account grants a developer account's
 * application access: the platform creates a subaccount of the user, links
 * it to the developer with a permission profile, and returns its SID. The
 * developer then calls /Accounts/{SubaccountSid}/… with its own credentials,
 * and only what the profile lists is allowed (decideAccess). Revoking
 * (DELETE) cuts the developer off; the subaccount stays with the user.
 */
import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { apiDate } from '../../../regions/store/schema.js';
import { newSid } from '../../store/ids.js';
import { keys as apiKeys } from '../../../regions/store/keys.js';
import type { AuthorizationRecord } from '../../store/resources.js';
import { apiError, badParam, notFound } from '../errors.js';
import { authTokenOnly } from '../middleware/auth-token-only.js';
import { pageMeta, pageOffset, PagingQuery } from '../paging.js';
import {
  AuthorizationListSchema,
  AuthorizationSchema,
  CreateAuthorizationForm,
  parsePermissions,
  renderAuthorization,
  renderAuthorizationList,
} from '../schemas/authorizations.js';
import { AccountAndSidParams, AccountSidParam, accountUri, API_VERSION, errorResponses, formBody, json } from '../schemas/common.js';
import type { TenantEnv } from '../types.js';

const tags = ['Authorizations'];
/** Granting access is the account owner's decision: API keys are refused. */
const credentialOperation = authTokenOnly('Authorizations');
const BASE = `/${API_VERSION}/Accounts/{AccountSid}/Authorizations`;

export function registerAuthorizationRoutes(app: OpenAPIHono<TenantEnv>): void {
  app.openapi(
    createRoute({
      method: 'post',
      path: BASE,
      tags,
      middleware: [credentialOperation],
      summary: 'Authorize a developer account\'s application on this account (creates a linked subaccount)',
      request: { params: AccountSidParam, body: formBody(CreateAuthorizationForm) },
      responses: { 201: json(AuthorizationSchema, 'The authorization, with the new subaccount SID'), ...errorResponses },
    }),
    async (c) => {
      const f = c.req.valid('form');
      const { stores, deps, now } = c.get('api');
      const user = c.get('target');
      if (user.ownerAccountSid !== undefined) throw apiError('FORBIDDEN', 'Subaccounts cannot authorize applications', 20403);
      const application = await stores.applications.get(f.ApplicationSid);
      const developer = application === undefined ? undefined : await stores.accounts.get(application.accountSid);
      if (application === undefined || developer === undefined || developer.status !== 'active') {
        throw badParam('ApplicationSid', `${f.ApplicationSid} is not an active application`);
      }
      if (developer.sid === user.sid) throw badParam('ApplicationSid', 'an account cannot authorize its own application');
      if (f.Permissions.length === 0) throw badParam('Permissions');
      const subaccount = await stores.accounts.create(
        { friendlyName: f.FriendlyName ?? `${application.friendlyName || application.sid} for ${user.friendlyName}`, homeRegion: user.homeRegion },
        user.sid,
      );
      const at = now();
      const record: AuthorizationRecord = {
        sid: newSid('CN'),
        accountSid: user.sid,
        subaccountSid: subaccount.sid,
        developerAccountSid: developer.sid,
        applicationSid: application.sid,
        permissions: parsePermissions(f.Permissions),
        dateCreated: apiDate(at),
      };
      const link = apiKeys(deps.keyPrefix).authorizationBySubaccount(subaccount.sid);
      await stores.authorizations.insert(record, at.getTime(), (tx) => tx.set(link, record.sid));
      return c.json(renderAuthorization(record), 201);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: BASE,
      tags,
      middleware: [credentialOperation],
      summary: 'List the authorizations this account granted',
      request: { params: AccountSidParam, query: PagingQuery },
      responses: { 200: json(AuthorizationListSchema, 'A page of authorizations'), ...errorResponses },
    }),
    async (c) => {
      const paging = c.req.valid('query');
      const account = c.get('target');
      const page = await c.get('api').stores.authorizations.list(account.sid, { offset: pageOffset(paging), size: paging.PageSize });
      const meta = pageMeta(`${accountUri(account.sid)}/Authorizations.json`, c.req.url, paging, page.items.length, page.hasMore);
      return c.json(renderAuthorizationList(page.items, meta), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: `${BASE}/{Sid}`,
      tags,
      middleware: [credentialOperation],
      summary: 'Fetch an authorization',
      request: { params: AccountAndSidParams },
      responses: { 200: json(AuthorizationSchema, 'The authorization'), ...errorResponses },
    }),
    async (c) => {
      const { Sid } = c.req.valid('param');
      const record = await c.get('api').stores.authorizations.getOwned(c.get('target').sid, Sid);
      if (record === undefined) throw notFound(`Authorization ${Sid}`);
      return c.json(renderAuthorization(record), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: `${BASE}/{Sid}`,
      tags,
      middleware: [credentialOperation],
      summary: 'Revoke an authorization',
      request: { params: AccountAndSidParams },
      responses: { 204: { description: 'Revoked' }, ...errorResponses },
    }),
    async (c) => {
      const { Sid } = c.req.valid('param');
      const { stores, deps } = c.get('api');
      const record = await stores.authorizations.getOwned(c.get('target').sid, Sid);
      if (record === undefined) throw notFound(`Authorization ${Sid}`);
      const link = apiKeys(deps.keyPrefix).authorizationBySubaccount(record.subaccountSid);
      await stores.authorizations.remove(record, (tx) => tx.del(link));
      return c.body(null, 204);
    },
  );
}
