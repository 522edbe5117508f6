/**
 * Calls: originate (record in `queued` + an `originate` command to the home
 * region's signaling nodes), list with filters, fetch, and modify a live call
 * (`Url` → redirect, `Status=completed|canceled` → hangup). After creation the
 * signaling node owns the record's status; this API only reads it.
 */
import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { MeshError } from '../../../regions/core/errors.js';
import { FINAL_CALL_STATUSES, type CallRecord } from '../../../regions/store/call-records.js';
import { apiDate } from '../../../regions/store/schema.js';
import { callTags } from '../../../regions/store/tags.js';
import { newSid } from '../../store/ids.js';
import { apiError, badParam, notFound } from '../errors.js';
import { pageMeta, pageOffset, PagingQuery } from '../paging.js';
import { CallListSchema, CallSchema, callFilter, CreateCallForm, ListCallsQuery, renderCall, renderCallList, UpdateCallForm } from '../schemas/calls.js';
import { AccountAndSidParams, AccountSidParam, accountUri, API_VERSION, errorResponses, formBody, json } from '../schemas/common.js';
import type { TenantEnv } from '../types.js';

const tags = ['Calls'];
const BASE = `/${API_VERSION}/Accounts/{AccountSid}/Calls`;
const RINGING_STATES = new Set(['queued', 'initiated', 'ringing']);

export function registerCallRoutes(app: OpenAPIHono<TenantEnv>): void {
  app.openapi(
    createRoute({
      method: 'post',
      path: BASE,
      tags,
      summary: 'Originate a call',
      request: { params: AccountSidParam, body: formBody(CreateCallForm) },
      responses: { 201: json(CallSchema, 'The queued call'), ...errorResponses },
    }),
    async (c) => {
      const f = c.req.valid('form');
      const { stores, deps, now } = c.get('api');
      const account = c.get('target');
      let appTags: string[] | undefined;
      let voice: Pick<CallRecord, 'url' | 'method' | 'fallbackUrl' | 'fallbackMethod' | 'statusCallback' | 'statusCallbackMethod'>;
      if (f.ApplicationSid !== undefined) {
        // The application's URLs win over Url/Method, as in the 2010-04-01 API.
        const application = await stores.applications.getOwned(account.sid, f.ApplicationSid);
        if (application === undefined) throw badParam('ApplicationSid', `${f.ApplicationSid} is not an application of this account`);
        if (application.voiceUrl === undefined) throw badParam('ApplicationSid', 'the application has no VoiceUrl');
        appTags = application.tags;
        voice = {
          url: application.voiceUrl,
          method: application.voiceMethod,
          ...(application.voiceFallbackUrl === undefined ? {} : { fallbackUrl: application.voiceFallbackUrl, fallbackMethod: application.voiceFallbackMethod }),
          ...(application.statusCallback === undefined ? {} : { statusCallback: application.statusCallback, statusCallbackMethod: application.statusCallbackMethod }),
        };
      } else if (f.Url !== undefined) {
        voice = {
          url: f.Url,
          method: f.Method ?? 'POST',
          ...(f.FallbackUrl === undefined ? {} : { fallbackUrl: f.FallbackUrl, fallbackMethod: f.FallbackMethod ?? 'POST' }),
        };
      } else {
        throw apiError('BAD_REQUEST', 'Missing required parameter Url (or ApplicationSid)', 21205, 'Url');
      }
      const at = now();
      const tags = callTags(f.Tags, appTags);
      const call: CallRecord = {
        sid: newSid('CA'),
        accountSid: account.sid,
        direction: 'outbound-api',
        from: f.From,
        to: f.To,
        status: 'queued',
        region: account.homeRegion,
        ...(f.ApplicationSid === undefined ? {} : { applicationSid: f.ApplicationSid }),
        ...voice,
        ...(f.StatusCallback === undefined ? {} : { statusCallback: f.StatusCallback, statusCallbackMethod: f.StatusCallbackMethod ?? 'POST' }),
        statusCallbackEvents: f.StatusCallbackEvent !== undefined && f.StatusCallbackEvent.length > 0 ? [...new Set(f.StatusCallbackEvent)] : ['completed'],
        timeout: f.Timeout ?? 60,
        ...(tags.length > 0 ? { tags } : {}),
        dateCreated: apiDate(at),
        dateUpdated: apiDate(at),
      };
      await stores.calls.insert(call, at.getTime());
      try {
        await deps.callControl.send(call.region, { type: 'originate', callSid: call.sid });
      } catch (e) {
        await stores.calls.replace({ ...call, status: 'failed', dateUpdated: apiDate(now()) });
        throw new MeshError('SERVICE_UNAVAILABLE', 'The call could not be handed to its region; it was not placed', { cause: e, retryAfter: 1 });
      }
      return c.json(renderCall(call), 201);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: BASE,
      tags,
      summary: 'List calls, newest first',
      request: { params: AccountSidParam, query: ListCallsQuery.extend(PagingQuery.shape) },
      responses: { 200: json(CallListSchema, 'A page of calls'), ...errorResponses },
    }),
    async (c) => {
      const { Page, PageSize, PageToken, ...filters } = c.req.valid('query');
      const paging = { Page, PageSize, PageToken };
      const account = c.get('target');
      const filter = callFilter(filters);
      const page = await c.get('api').stores.calls.list(account.sid, { offset: pageOffset(paging), size: PageSize, ...(filter ? { filter } : {}) });
      const meta = pageMeta(`${accountUri(account.sid)}/Calls.json`, c.req.url, paging, page.items.length, page.hasMore);
      return c.json(renderCallList(page.items, meta), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: `${BASE}/{Sid}`,
      tags,
      summary: 'Fetch a call',
      request: { params: AccountAndSidParams },
      responses: { 200: json(CallSchema, 'The call'), ...errorResponses },
    }),
    async (c) => {
      const { Sid } = c.req.valid('param');
      const call = await c.get('api').stores.calls.getOwned(c.get('target').sid, Sid);
      if (call === undefined) throw notFound(`Call ${Sid}`);
      return c.json(renderCall(call), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: `${BASE}/{Sid}`,
      tags,
      summary: 'Redirect (Url) or hang up (Status=completed|canceled) a live call',
      request: { params: AccountAndSidParams, body: formBody(UpdateCallForm) },
      responses: { 200: json(CallSchema, 'The call'), ...errorResponses },
    }),
    async (c) => {
      const { Sid } = c.req.valid('param');
      const f = c.req.valid('form');
      const { stores, deps } = c.get('api');
      const call = await stores.calls.getOwned(c.get('target').sid, Sid);
      if (call === undefined) throw notFound(`Call ${Sid}`);
      if (f.Status === undefined && f.Url === undefined) throw apiError('BAD_REQUEST', 'Missing required parameter Url (or Status)', 21205, 'Url');
      if (FINAL_CALL_STATUSES.includes(call.status)) {
        throw apiError('BAD_REQUEST', `Call is not in-progress (status ${call.status}); it cannot be modified`, 21220);
      }
      if (f.Status === 'completed' || (f.Status === 'canceled' && RINGING_STATES.has(call.status))) {
        // `canceled` only stops a call that has not been answered; on an answered call it does nothing.
        await deps.callControl.send(call.region, { type: 'hangup', callSid: call.sid });
      } else if (f.Status === undefined && f.Url !== undefined) {
        await deps.callControl.send(call.region, { type: 'redirect', callSid: call.sid, url: f.Url, method: f.Method ?? 'POST' });
      }
      return c.json(renderCall(call), 200);
    },
  );
}
