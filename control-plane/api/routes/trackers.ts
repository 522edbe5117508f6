/**
 * Trackers (our extension): `…/Trackers[/{Sid}]` create, list, fetch,
 * update, delete; `…/Trackers/{Sid}/Measurements` reads its buckets. The
 * account in the path sees its own trackers and those its parent shared
 * with it; a shared one is read-only (403 on update or delete) and nothing
 * else of the owner is reachable through it. Delegation to an application
 * is the `trackers:read` permission on the authorization's subaccount plus
 * a share with that subaccount.
 */
import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { apiDate, type AccountRecord } from '../../../regions/store/schema.js';
import { newSid } from '../../../regions/store/sids.js';
import { MAX_RANGE_DAYS, readMeasurements, sumBuckets, trackerDayKeys } from '../../../regions/store/tracker-measurements.js';
import { MAX_TRACKERS_PER_ACCOUNT, TRACKER_MEASUREMENTS, type TrackerRecord } from '../../../regions/store/trackers.js';
import { usageDay } from '../../../regions/store/usage.js';
import { apiError, badParam, notFound } from '../errors.js';
import { pageMeta, pageOffset, PagingQuery } from '../paging.js';
import { AccountAndSidParams, AccountSidParam, accountUri, API_VERSION, errorResponses, formBody, json } from '../schemas/common.js';
import {
  CreateTrackerForm,
  MeasurementsQuery,
  MeasurementsSchema,
  renderMeasurements,
  renderTracker,
  renderTrackerList,
  TrackerListSchema,
  TrackerSchema,
  UpdateTrackerForm,
} from '../schemas/trackers.js';
import type { TenantEnv } from '../types.js';

const tags = ['Trackers'];
const BASE = `/${API_VERSION}/Accounts/{AccountSid}/Trackers`;

type UpdateForm = ReturnType<typeof UpdateTrackerForm.parse>;

/** The form applied to a tracker, after the checks the schema cannot make (tags non-empty, shares are subaccounts). */
async function applyTrackerForm(c: Context<TenantEnv>, base: TrackerRecord, f: UpdateForm): Promise<TrackerRecord> {
  const next: TrackerRecord = { ...base };
  if (f.FriendlyName !== undefined) next.friendlyName = f.FriendlyName;
  if (f.Tags !== undefined) {
    if (f.Tags.length === 0) throw badParam('Tags', 'a tracker needs at least one tag');
    next.tags = f.Tags;
  }
  if (f.Measurements !== undefined) {
    if (f.Measurements.length === 0) throw badParam('Measurements', `name at least one of ${TRACKER_MEASUREMENTS.join(', ')}`);
    next.measurements = TRACKER_MEASUREMENTS.filter((m) => f.Measurements!.includes(m));
  }
  if (f.IncludeSubaccounts !== undefined) next.includeSubaccounts = f.IncludeSubaccounts;
  if (f.SharedWith !== undefined) {
    const { stores } = c.get('api');
    for (const sid of f.SharedWith) {
      const grantee: AccountRecord | undefined = await stores.accounts.get(sid);
      if (grantee?.ownerAccountSid !== base.accountSid) throw badParam('SharedWith', `${sid} is not a subaccount of ${base.accountSid}`);
    }
    next.sharedWith = f.SharedWith;
  }
  return next;
}

/** The tracker the path's account may read (own or shared), else 404. */
async function readable(c: Context<TenantEnv>, sid: string): Promise<{ tracker: TrackerRecord; shared: boolean }> {
  const found = await c.get('api').stores.trackers.getReadable(c.get('target').sid, sid);
  if (found === undefined) throw notFound(`Tracker ${sid}`);
  return found;
}

/** The path's account's own tracker: 404 when unknown, 403 when only shared with it. */
async function owned(c: Context<TenantEnv>, sid: string): Promise<TrackerRecord> {
  const { tracker, shared } = await readable(c, sid);
  if (shared) throw apiError('FORBIDDEN', `Tracker ${sid} is shared with this account read-only`, 20403);
  return tracker;
}

export function registerTrackerRoutes(app: OpenAPIHono<TenantEnv>): void {
  app.openapi(
    createRoute({
      method: 'post',
      path: BASE,
      tags,
      summary: `Create a tracker (extension; at most ${MAX_TRACKERS_PER_ACCOUNT} per account)`,
      request: { params: AccountSidParam, body: formBody(CreateTrackerForm) },
      responses: { 201: json(TrackerSchema, 'The tracker'), ...errorResponses },
    }),
    async (c) => {
      const { stores, now } = c.get('api');
      const account = c.get('target');
      const at = now();
      const base: TrackerRecord = {
        sid: newSid('TK'),
        accountSid: account.sid,
        friendlyName: '',
        tags: [],
        measurements: [...TRACKER_MEASUREMENTS],
        includeSubaccounts: false,
        sharedWith: [],
        dateCreated: apiDate(at),
        dateUpdated: apiDate(at),
      };
      const record = await applyTrackerForm(c, base, c.req.valid('form'));
      await stores.trackers.create(record, at.getTime());
      return c.json(renderTracker(record, account.sid), 201);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: BASE,
      tags,
      summary: 'List trackers: the account’s own, newest first, then those shared with it',
      request: { params: AccountSidParam, query: PagingQuery },
      responses: { 200: json(TrackerListSchema, 'A page of trackers'), ...errorResponses },
    }),
    async (c) => {
      const paging = c.req.valid('query');
      const { stores } = c.get('api');
      const account = c.get('target');
      // Both lists are bounded (MAX_TRACKERS_PER_ACCOUNT own, shares of a parent's), so they are paged in memory.
      const own = await stores.trackers.list(account.sid, { offset: 0, size: 1000 });
      const all = [...own.items, ...(await stores.trackers.sharedWith(account.sid))];
      const offset = pageOffset(paging);
      const items = all.slice(offset, offset + paging.PageSize);
      const meta = pageMeta(`${accountUri(account.sid)}/Trackers.json`, c.req.url, paging, items.length, all.length > offset + paging.PageSize);
      return c.json(renderTrackerList(items, account.sid, meta), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: `${BASE}/{Sid}`,
      tags,
      summary: 'Fetch a tracker (own or shared with the account)',
      request: { params: AccountAndSidParams },
      responses: { 200: json(TrackerSchema, 'The tracker'), ...errorResponses },
    }),
    async (c) => {
      const { tracker } = await readable(c, c.req.valid('param').Sid);
      return c.json(renderTracker(tracker, c.get('target').sid), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: `${BASE}/{Sid}`,
      tags,
      summary: 'Update a tracker (its owner only); measurements already counted stay as they are',
      request: { params: AccountAndSidParams, body: formBody(UpdateTrackerForm) },
      responses: { 200: json(TrackerSchema, 'The tracker'), ...errorResponses },
    }),
    async (c) => {
      const { stores, now } = c.get('api');
      const before = await owned(c, c.req.valid('param').Sid);
      const next = { ...(await applyTrackerForm(c, before, c.req.valid('form'))), dateUpdated: apiDate(now()) };
      await stores.trackers.update(before, next);
      return c.json(renderTracker(next, c.get('target').sid), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: `${BASE}/{Sid}`,
      tags,
      summary: 'Delete a tracker and its measurements (its owner only)',
      request: { params: AccountAndSidParams },
      responses: { 204: { description: 'Deleted' }, ...errorResponses },
    }),
    async (c) => {
      const { stores, deps, now } = c.get('api');
      const tracker = await owned(c, c.req.valid('param').Sid);
      const created = Date.parse(tracker.dateCreated);
      await stores.trackers.delete(tracker, trackerDayKeys(deps.keyPrefix, tracker.sid, Number.isFinite(created) ? created : 0, now().getTime()));
      return c.body(null, 204);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: `${BASE}/{Sid}/Measurements`,
      tags,
      summary: 'A tracker’s measurements per hour or day (UTC), with totals over the range',
      request: { params: AccountAndSidParams, query: MeasurementsQuery },
      responses: { 200: json(MeasurementsSchema, 'The buckets, oldest first, empty ones included'), ...errorResponses },
    }),
    async (c) => {
      const { deps, now } = c.get('api');
      const { tracker } = await readable(c, c.req.valid('param').Sid);
      const q = c.req.valid('query');
      const granularity = q.Granularity ?? 'day';
      const startDate = q.StartDate ?? usageDay(now().getTime());
      const endDate = q.EndDate ?? startDate;
      if (endDate < startDate) throw badParam('EndDate', `must not be before StartDate ${startDate}`);
      const days = Math.round((Date.parse(`${endDate}T00:00:00Z`) - Date.parse(`${startDate}T00:00:00Z`)) / 86_400_000) + 1;
      if (days > MAX_RANGE_DAYS[granularity]) {
        throw badParam('EndDate', `the range is ${days} days; Granularity=${granularity} reads at most ${MAX_RANGE_DAYS[granularity]}`);
      }
      const buckets = await readMeasurements(deps.redis, deps.keyPrefix, tracker.sid, startDate, endDate, granularity);
      return c.json(renderMeasurements(tracker, c.get('target').sid, { startDate, endDate, granularity }, buckets, sumBuckets(buckets), c.req.url), 200);
    },
  );
}
