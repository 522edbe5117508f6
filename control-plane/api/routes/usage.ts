/**
 * Usage/Records (and its period subresources): totals per category, from the
 * account and — unless IncludeSubaccounts=false — all its subaccounts.
 */
import { createRoute, z, type OpenAPIHono, type RouteConfig } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { readTagUsageRows } from '../../../regions/store/tag-usage.js';
import { readUsageRows, summarizeUsage, usageDay } from '../../../regions/store/usage.js';
import { pageMeta, pageOffset, PagingQuery } from '../paging.js';
import { AccountSidParam, accountUri, API_VERSION, errorResponses, json } from '../schemas/common.js';
import {
  renderUsage,
  renderUsageList,
  resolveDate,
  subresourceQuery,
  USAGE_SUBRESOURCES,
  UsageListSchema,
  UsageQuerySchema,
  type UsageSubresource,
} from '../schemas/usage.js';
import type { TenantEnv } from '../types.js';

const tags = ['Usage'];
const BASE = `/${API_VERSION}/Accounts/{AccountSid}/Usage/Records`;
const Query = UsageQuerySchema.extend(PagingQuery.shape);

async function listUsage(c: Context<TenantEnv>, q: z.infer<typeof Query>, sub: UsageSubresource | undefined) {
  const { stores, deps, now } = c.get('api');
  const account = c.get('target');
  const today = now();
  const start = resolveDate(q.StartDate ?? usageDay(Date.parse(account.dateCreated) || today.getTime()), today);
  const end = resolveDate(q.EndDate ?? usageDay(today.getTime()), today);
  const include = q.IncludeSubaccounts === undefined || q.IncludeSubaccounts.toLowerCase() === 'true';
  const sids = [account.sid, ...(include ? await stores.accounts.subaccountSids(account.sid) : [])];
  const rows = q.Tag === undefined ? await readUsageRows(deps.redis, deps.keyPrefix, sids) : await readTagUsageRows(deps.redis, deps.keyPrefix, sids, q.Tag);
  const totals = summarizeUsage(rows, {
    ...subresourceQuery(sub, today, start, end),
    ...(q.Category === undefined ? {} : { category: q.Category }),
    ...(q.Region === undefined ? {} : { region: q.Region }),
  });
  const listPath = `${accountUri(account.sid)}/Usage/Records${sub === undefined ? '' : `/${sub}`}.json`;
  const offset = pageOffset(q);
  const items = totals.slice(offset, offset + q.PageSize).map((t) => renderUsage(account.sid, t, today, listPath));
  const meta = pageMeta(listPath, c.req.url, q, items.length, totals.length > offset + q.PageSize);
  return renderUsageList(items, meta);
}

export function registerUsageRoutes(app: OpenAPIHono<TenantEnv>): void {
  const listRoute = createRoute({
    method: 'get',
    path: BASE,
    tags,
    summary: 'Usage totals per category over a date range, including subaccounts',
    request: { params: AccountSidParam, query: Query },
    responses: { 200: json(UsageListSchema, 'A page of usage records'), ...errorResponses },
  });
  app.openapi(listRoute, async (c) => c.json(await listUsage(c, c.req.valid('query'), undefined), 200));

  const subRoute = createRoute({
    method: 'get',
    path: `${BASE}/{Subresource}`,
    tags,
    summary: 'Usage totals for a fixed period (Today, ThisMonth, …) or per day / month / year',
    request: {
      params: AccountSidParam.extend({ Subresource: z.enum(USAGE_SUBRESOURCES).openapi({ param: { name: 'Subresource', in: 'path' } }) }),
      query: Query,
    },
    responses: { 200: json(UsageListSchema, 'A page of usage records'), ...errorResponses },
  }) satisfies RouteConfig;
  app.openapi(subRoute, async (c) => c.json(await listUsage(c, c.req.valid('query'), c.req.valid('param').Subresource), 200));
}
