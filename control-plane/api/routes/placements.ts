/**
 * Calls/{CallSid}/Placements: the call's media placement trace (an extension
 * of the 2010-04-01 API; the operator's /v1/calls/{sid}/placements reads the
 * same Redis list, kept a day; after that, the copy in the call record). Only for the account's own calls: another account's
 * CallSid is 404, as one that does not exist. Part of the `calls` permission.
 */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { readPlacementTrace } from '../../../regions/store/placement-traces.js';
import { notFound } from '../errors.js';
import { pageMeta, pageOffset, PagingQuery } from '../paging.js';
import { AccountSidParam, accountUri, API_VERSION, errorResponses, json } from '../schemas/common.js';
import { PlacementListSchema, renderPlacement, renderPlacementList } from '../schemas/placements.js';
import type { TenantEnv } from '../types.js';

export function registerPlacementRoutes(app: OpenAPIHono<TenantEnv>): void {
  app.openapi(
    createRoute({
      method: 'get',
      path: `/${API_VERSION}/Accounts/{AccountSid}/Calls/{CallSid}/Placements`,
      tags: ['Calls'],
      summary: 'List the media placement decisions of one call (extension)',
      description:
        'Each decision: what the call needed (capability, media and home region), the candidates considered, the nodes set aside with the reason, and the chosen node, its region and kind (local, remote, central). Oldest first; empty while no media was placed.',
      request: { params: AccountSidParam.extend({ CallSid: z.string().openapi({ param: { name: 'CallSid', in: 'path' } }) }), query: PagingQuery },
      responses: { 200: json(PlacementListSchema, 'A page of placement decisions'), ...errorResponses },
    }),
    async (c) => {
      const { CallSid } = c.req.valid('param');
      const paging = c.req.valid('query');
      const account = c.get('target');
      const { stores, deps } = c.get('api');
      const call = await stores.calls.getOwned(account.sid, CallSid);
      if (call === undefined) throw notFound(`Call ${CallSid}`);
      // The live trace while it lasts (a day); after that, the copy the call record took when the call ended.
      const trace = (await readPlacementTrace(deps.redis, deps.keyPrefix, CallSid)) ?? call.placements ?? [];
      const all = trace.flatMap((e) => renderPlacement(e) ?? []);
      const start = pageOffset(paging);
      const items = all.slice(start, start + paging.PageSize);
      const path = `${accountUri(account.sid)}/Calls/${CallSid}/Placements.json`;
      return c.json(renderPlacementList(items, pageMeta(path, c.req.url, paging, items.length, start + items.length < all.length)), 200);
    },
  );
}
