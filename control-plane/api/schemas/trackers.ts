/**
 * Trackers (our extension) and their Measurements: request forms, response
 * shapes and rendering. A tracker read through a share (`shared: true`)
 * names the reading account as `account_sid` and hides whom else it is
 * shared with: the grantee learns the measurements, not who owns them.
 */
import { z } from '@hono/zod-openapi';
import { MAX_TRACKER_SHARES, TRACKER_MEASUREMENTS, type TrackerMeasurement, type TrackerRecord } from '../../../regions/store/trackers.js';
import { answerSeizureRatio, pddPercentile, type MeasurementTotals } from '../../../regions/store/tracker-math.js';
import type { Granularity, MeasurementBucket } from '../../../regions/store/tracker-measurements.js';
import { PageMetaSchema, type PageMeta } from '../paging.js';
import { accountUri, API_VERSION, FriendlyNameField, repeated } from './common.js';
import { TagsField, TagsSchema } from './tags.js';

const MeasurementField = z.enum(TRACKER_MEASUREMENTS);
const BoolField = z
  .preprocess((v) => (typeof v === 'string' ? v.toLowerCase() : v), z.enum(['true', 'false']))
  .transform((v) => v === 'true')
  .openapi({ type: 'boolean' });
const SharedWithField = z
  .preprocess((v) => {
    const list: unknown[] | undefined = Array.isArray(v) ? v : v === undefined ? undefined : [v];
    return list?.flatMap((s) => (typeof s === 'string' ? s.split(/[\s,]+/).filter((x) => x !== '') : [s]));
  }, z.array(z.string().regex(/^AC[0-9a-f]{32}$/, 'each entry is an account SID')).max(MAX_TRACKER_SHARES, `at most ${MAX_TRACKER_SHARES} accounts`))
  .transform((sids) => [...new Set(sids)].sort())
  .openapi({
    type: 'array',
    items: { type: 'string' },
    description: `Subaccounts (at most ${MAX_TRACKER_SHARES}; an application authorization's subaccount_sid included) that may read this tracker and its measurements, nothing else. Repeated or comma-separated; empty clears.`,
  });

export const UpdateTrackerForm = z.object({
  FriendlyName: FriendlyNameField.optional(),
  Tags: TagsField.optional().openapi({ description: '1 to 10 tags; a call counts when it carries all of them. Repeated (Tags=a&Tags=b) or comma-separated.' }),
  Measurements: repeated(MeasurementField)
    .optional()
    .openapi({ description: `What to report, repeated or comma-separated: ${TRACKER_MEASUREMENTS.join(', ')}. Default all.` }),
  IncludeSubaccounts: BoolField.optional().openapi({ description: "Count the subaccounts' calls too. Default false." }),
  SharedWith: SharedWithField.optional(),
});

export const CreateTrackerForm = UpdateTrackerForm.extend({
  Tags: TagsField.openapi({ description: '1 to 10 tags; a call counts when it carries all of them. Repeated (Tags=a&Tags=b) or comma-separated.' }),
});

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const DayParam = z.string().refine((v) => DAY.test(v) && !Number.isNaN(Date.parse(`${v}T00:00:00Z`)), 'must be a date YYYY-MM-DD (UTC)');

export const MeasurementsQuery = z.object({
  StartDate: DayParam.optional().openapi({ description: 'First UTC day (YYYY-MM-DD), default today' }),
  EndDate: DayParam.optional().openapi({ description: 'Last UTC day, inclusive (YYYY-MM-DD), default StartDate' }),
  Granularity: z.enum(['hour', 'day']).optional().openapi({ description: 'One bucket per hour (at most 31 days) or per day (at most 366 days). Default day.' }),
});

export const TrackerSchema = z
  .object({
    sid: z.string(),
    account_sid: z.string(),
    friendly_name: z.string(),
    tags: TagsSchema,
    measurements: z.array(z.string()),
    include_subaccounts: z.boolean(),
    shared_with: z.array(z.string()),
    /** True when the account in the path reads another account's tracker shared with it (read-only). */
    shared: z.boolean(),
    api_version: z.string(),
    date_created: z.string(),
    date_updated: z.string(),
    uri: z.string(),
    subresource_uris: z.record(z.string()),
  })
  .openapi('Tracker');

export const TrackerListSchema = z.object({ trackers: z.array(TrackerSchema), ...PageMetaSchema }).openapi('TrackerList');

const Figures = z
  .object({
    calls: z.number().optional(),
    answered: z.number().optional(),
    failed: z.number().optional(),
    minutes: z.number().optional(),
    duration: z.number().optional().openapi({ description: 'Seconds answered (with minutes)' }),
    price: z.string().nullable().optional().openapi({ description: 'Sum of the calls’ prices (negative, as charges are shown); null while no call has a price' }),
    price_unit: z.string().optional(),
    answer_seizure_ratio: z.number().nullable().optional(),
    post_dial_delay_p50_ms: z.number().nullable().optional(),
    post_dial_delay_p95_ms: z.number().nullable().optional(),
    post_dial_delay_samples: z.number().optional(),
  })
  .openapi('TrackerFigures');

const BucketSchema = Figures.extend({ start_time: z.string(), end_time: z.string() }).openapi('TrackerBucket');

export const MeasurementsSchema = z
  .object({
    tracker_sid: z.string(),
    account_sid: z.string(),
    start_date: z.string(),
    end_date: z.string(),
    granularity: z.enum(['hour', 'day']),
    measurements: z.array(z.string()),
    totals: Figures,
    buckets: z.array(BucketSchema),
    uri: z.string(),
  })
  .openapi('TrackerMeasurements');

/** `viewer`: the account in the path (the owner, or a grantee of a share). */
export function renderTracker(t: TrackerRecord, viewer: string): z.infer<typeof TrackerSchema> {
  const shared = t.accountSid !== viewer;
  const uri = `${accountUri(viewer)}/Trackers/${t.sid}`;
  return {
    sid: t.sid,
    account_sid: viewer,
    friendly_name: t.friendlyName,
    tags: t.tags,
    measurements: t.measurements,
    include_subaccounts: t.includeSubaccounts,
    shared_with: shared ? [] : t.sharedWith,
    shared,
    api_version: API_VERSION,
    date_created: t.dateCreated,
    date_updated: t.dateUpdated,
    uri: `${uri}.json`,
    subresource_uris: { measurements: `${uri}/Measurements.json` },
  };
}

export function renderTrackerList(items: TrackerRecord[], viewer: string, meta: PageMeta): z.infer<typeof TrackerListSchema> {
  return { trackers: items.map((t) => renderTracker(t, viewer)), ...meta };
}

/** The figures a tracker wants, from some totals. */
export function renderFigures(t: MeasurementTotals, wanted: readonly TrackerMeasurement[]): z.infer<typeof Figures> {
  const out: z.infer<typeof Figures> = {};
  for (const m of wanted) {
    switch (m) {
      case 'calls':
        out.calls = t.calls;
        break;
      case 'answered':
        out.answered = t.answered;
        break;
      case 'failed':
        out.failed = t.failed;
        break;
      case 'minutes':
        out.minutes = t.minutes;
        out.duration = t.seconds;
        break;
      case 'price':
        out.price = t.priced === 0 ? null : t.price.toFixed(5);
        out.price_unit = 'USD';
        break;
      case 'answer-seizure-ratio': {
        const asr = answerSeizureRatio(t);
        out.answer_seizure_ratio = asr === null ? null : Math.round(asr * 10_000) / 10_000;
        break;
      }
      case 'post-dial-delay':
        out.post_dial_delay_p50_ms = pddPercentile(t.pddBins, 0.5);
        out.post_dial_delay_p95_ms = pddPercentile(t.pddBins, 0.95);
        out.post_dial_delay_samples = t.pddCount;
        break;
    }
  }
  return out;
}

export function renderMeasurements(
  t: TrackerRecord,
  viewer: string,
  q: { startDate: string; endDate: string; granularity: Granularity },
  buckets: MeasurementBucket[],
  totals: MeasurementTotals,
  requestUrl: string,
): z.infer<typeof MeasurementsSchema> {
  const url = new URL(requestUrl);
  return {
    tracker_sid: t.sid,
    account_sid: viewer,
    start_date: q.startDate,
    end_date: q.endDate,
    granularity: q.granularity,
    measurements: t.measurements,
    totals: renderFigures(totals, t.measurements),
    buckets: buckets.map((b) => ({ start_time: b.start, end_time: b.end, ...renderFigures(b.totals, t.measurements) })),
    uri: `${accountUri(viewer)}/Trackers/${t.sid}/Measurements.json${url.search}`,
  };
}
