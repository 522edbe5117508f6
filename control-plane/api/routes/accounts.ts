/**
 * Accounts: the caller's own account and its subaccounts. Subaccounts are one
 * level deep; only the owner changes a subaccount's status; `closed` is final
 * and releases the account's phone numbers.
 */
import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import type { AccountRecord } from '../../../regions/store/schema.js';
import { MAX_SCAN } from '../../../regions/store/records.js';
import { mayViewCredentials } from '../access.js';
import { apiError } from '../errors.js';
import { checkHomeRegion } from '../home-region.js';
import { authTokenOnly } from '../middleware/auth-token-only.js';
import { pageMeta, pageOffset, PagingQuery } from '../paging.js';
import {
  AccountListSchema,
  AccountSchema,
  CreateAccountForm,
  ListAccountsQuery,
  renderAccount,
  renderAccountList,
  UpdateAccountForm,
} from '../schemas/accounts.js';
import { AccountSidParam, API_VERSION, errorResponses, formBody, json } from '../schemas/common.js';
import type { Stores, TenantEnv } from '../types.js';

const tags = ['Accounts'];
const credentialOperation = authTokenOnly('Accounts');

export function registerAccountRoutes(app: OpenAPIHono<TenantEnv>): void {
  app.openapi(
    createRoute({
      method: 'post',
      path: `/${API_VERSION}/Accounts`,
      tags,
      middleware: [credentialOperation],
      summary: 'Create a subaccount of the calling account',
      request: { body: formBody(CreateAccountForm) },
      responses: { 201: json(AccountSchema, 'The new subaccount'), ...errorResponses },
    }),
    async (c) => {
      const form = c.req.valid('form');
      const { stores, deps } = c.get('api');
      const owner = c.get('principal').account;
      if (owner.ownerAccountSid !== undefined) throw apiError('FORBIDDEN', 'Subaccounts cannot create subaccounts', 20403);
      const homeRegion = checkHomeRegion(deps.regions, form.HomeRegion ?? owner.homeRegion);
      const account = await stores.accounts.create(
        { friendlyName: form.FriendlyName ?? `SubAccount of ${owner.friendlyName}`, homeRegion },
        owner.sid,
      );
      return c.json(renderAccount(account, mayViewCredentials(c.get('principal'), account)), 201);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: `/${API_VERSION}/Accounts`,
      tags,
      middleware: [credentialOperation],
      summary: 'List the calling account and its subaccounts',
      request: { query: ListAccountsQuery.extend(PagingQuery.shape) },
      responses: { 200: json(AccountListSchema, 'A page of accounts'), ...errorResponses },
    }),
    async (c) => {
      const q = c.req.valid('query');
      const { stores } = c.get('api');
      const self = c.get('principal').account;
      // Subaccounts are bounded (one level, MAX_SCAN at most), so the list is filtered in memory.
      const subSids = (await stores.accounts.subaccountSids(self.sid)).slice(0, MAX_SCAN);
      const subs = (await stores.accounts.getMany(subSids)).filter((a): a is AccountRecord => a !== undefined);
      const all = [self, ...subs].filter(
        (a) => (q.FriendlyName === undefined || a.friendlyName === q.FriendlyName) && (q.Status === undefined || a.status === q.Status),
      );
      const offset = pageOffset(q);
      const items = all.slice(offset, offset + q.PageSize);
      const meta = pageMeta(`/${API_VERSION}/Accounts.json`, c.req.url, q, items.length, all.length > offset + q.PageSize);
      const viewer = c.get('principal');
      return c.json(renderAccountList(items, meta, (a) => mayViewCredentials(viewer, a)), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: `/${API_VERSION}/Accounts/{AccountSid}`,
      tags,
      middleware: [credentialOperation],
      summary: 'Fetch an account',
      request: { params: AccountSidParam },
      responses: { 200: json(AccountSchema, 'The account'), ...errorResponses },
    }),
    (c) => c.json(renderAccount(c.get('target'), mayViewCredentials(c.get('principal'), c.get('target'))), 200),
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: `/${API_VERSION}/Accounts/{AccountSid}`,
      tags,
      middleware: [credentialOperation],
      summary: 'Rename, suspend, reactivate or close an account',
      request: { params: AccountSidParam, body: formBody(UpdateAccountForm) },
      responses: { 200: json(AccountSchema, 'The updated account'), ...errorResponses },
    }),
    async (c) => {
      const form = c.req.valid('form');
      const { stores } = c.get('api');
      const target = c.get('target');
      const principal = c.get('principal').account;
      if (target.status === 'closed') throw apiError('BAD_REQUEST', `Account ${target.sid} is closed`, 20005);
      if (form.Status !== undefined && form.Status !== target.status && target.ownerAccountSid !== principal.sid) {
        throw apiError('FORBIDDEN', 'Only the parent account can change an account\'s status', 20403);
      }
      const updated = await stores.accounts.update(target.sid, {
        ...(form.FriendlyName === undefined ? {} : { friendlyName: form.FriendlyName }),
        ...(form.Status === undefined ? {} : { status: form.Status }),
      });
      if (updated === undefined) throw apiError('NOT_FOUND', `Account ${target.sid} was not found`, 20404);
      if (form.Status === 'closed') await releaseNumbers(stores, target.sid);
      return c.json(renderAccount(updated, mayViewCredentials(c.get('principal'), updated)), 200);
    },
  );
}

/** A closed account's numbers go back to the pool, so the E.164 index never routes to it. */
async function releaseNumbers(stores: Stores, accountSid: string): Promise<void> {
  for (;;) {
    const page = await stores.numbers.list(accountSid, { offset: 0, size: 100 });
    for (const n of page.items) await stores.numbers.delete(n);
    if (!page.hasMore) return;
  }
}
