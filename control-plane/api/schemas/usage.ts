import { z } from '@hono/zod-openapi';
import { REPORT_CATEGORIES, type ReportCategory, USAGE_DESCRIPTIONS, USAGE_UNITS, usageDay, type UsageQuery, type UsageTotal } from '../../../regions/store/usage.js';
import { TAG_PATTERN } from '../../../regions/store/tags.js';
import { formatMicros } from '../../../regions/pricing/money.js';
import { PageMetaSchema, type PageMeta } from '../paging.js';
import { accountUri, API_VERSION } from './common.js';

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const RELATIVE = /^-\d{1,4}days$/;
const DateParam = z.string().refine((v) => (DAY.test(v) && !Number.isNaN(Date.parse(v))) || RELATIVE.test(v), 'must be YYYY-MM-DD or -Ndays');

export const UsageQuerySchema = z.object({
  Category: z.enum(REPORT_CATEGORIES as [ReportCategory, ...ReportCategory[]]).optional(),
  StartDate: DateParam.optional(),
  EndDate: DateParam.optional(),
  IncludeSubaccounts: z.enum(['true', 'false', 'True', 'False']).optional(),
  /** Extension: only usage in this region. */
  Region: z.string().max(64).optional(),
  /** Extension: only the minutes of calls carrying this tag (call categories only). */
  Tag: z.string().regex(TAG_PATTERN, 'must be a tag: 1-32 characters of a-z, 0-9, _ and -').optional(),
});

export const USAGE_SUBRESOURCES = ['Daily', 'Monthly', 'Yearly', 'AllTime', 'Today', 'Yesterday', 'ThisMonth', 'LastMonth'] as const;
export type UsageSubresource = (typeof USAGE_SUBRESOURCES)[number];

export const UsageRecordSchema = z
  .object({
    account_sid: z.string(),
    api_version: z.string(),
    as_of: z.string(),
    category: z.string(),
    description: z.string(),
    start_date: z.string(),
    end_date: z.string(),
    count: z.string(),
    count_unit: z.string(),
    usage: z.string(),
    usage_unit: z.string(),
    price: z.string(),
    price_unit: z.string(),
    /** Extension: the usage split by region. */
    usage_by_region: z.record(z.string()),
    uri: z.string(),
    subresource_uris: z.record(z.string()),
  })
  .openapi('UsageRecord');

export const UsageListSchema = z.object({ usage_records: z.array(UsageRecordSchema), ...PageMetaSchema }).openapi('UsageRecordList');

/** Resolves YYYY-MM-DD or -Ndays against today (UTC). */
export function resolveDate(value: string, today: Date): string {
  if (!RELATIVE.test(value)) return value;
  return usageDay(today.getTime() - Number(value.slice(1, -4)) * 86_400_000);
}

/** The period and grouping of a Usage/Records subresource (undefined = the plain list). */
export function subresourceQuery(sub: UsageSubresource | undefined, today: Date, start: string, end: string): Pick<UsageQuery, 'startDate' | 'endDate' | 'groupBy'> {
  const d = usageDay(today.getTime());
  const firstOfMonth = `${d.slice(0, 7)}-01`;
  const lastMonthEnd = usageDay(Date.parse(firstOfMonth) - 86_400_000);
  switch (sub) {
    case 'Today':
      return { startDate: d, endDate: d, groupBy: 'all' };
    case 'Yesterday': {
      const y = usageDay(today.getTime() - 86_400_000);
      return { startDate: y, endDate: y, groupBy: 'all' };
    }
    case 'ThisMonth':
      return { startDate: firstOfMonth, endDate: d, groupBy: 'all' };
    case 'LastMonth':
      return { startDate: `${lastMonthEnd.slice(0, 7)}-01`, endDate: lastMonthEnd, groupBy: 'all' };
    case 'Daily':
      return { startDate: start, endDate: end, groupBy: 'day' };
    case 'Monthly':
      return { startDate: start, endDate: end, groupBy: 'month' };
    case 'Yearly':
      return { startDate: start, endDate: end, groupBy: 'year' };
    case 'AllTime':
    case undefined:
      return { startDate: start, endDate: end, groupBy: 'all' };
  }
}

function amount(n: number): string {
  return String(Math.round(n * 1e6) / 1e6);
}

/** Usage prices: decimal strings from integer µ-units, at least two decimals ("0.028", "1.50"). */
const money = (micros: number): string => formatMicros(micros, 2);

export function renderUsage(accountSid: string, t: UsageTotal, asOf: Date, listPath: string): z.infer<typeof UsageRecordSchema> {
  // totalprice's quantity is money (µ-units): rendered as a price, not a count.
  const render = t.category === 'totalprice' ? money : amount;
  const byRegion = Object.create(null) as Record<string, string>; // region ids may be `__proto__`-like: no prototype
  for (const [region, q] of Object.entries(t.byRegion)) byRegion[region] = render(q);
  const query = new URLSearchParams({ Category: t.category, StartDate: t.startDate, EndDate: t.endDate });
  return {
    account_sid: accountSid,
    api_version: API_VERSION,
    as_of: asOf.toISOString().replace(/\.\d{3}Z$/, '+00:00'),
    category: t.category,
    description: USAGE_DESCRIPTIONS[t.category],
    start_date: t.startDate,
    end_date: t.endDate,
    // Quantities are kept as one running sum per category, so count and usage are the same number.
    count: render(t.quantity),
    count_unit: USAGE_UNITS[t.category],
    usage: render(t.quantity),
    usage_unit: USAGE_UNITS[t.category],
    price: money(t.priceMicros),
    price_unit: 'usd',
    usage_by_region: byRegion,
    uri: `${listPath}?${query.toString()}`,
    subresource_uris: Object.fromEntries(
      USAGE_SUBRESOURCES.map((s) => [s.replace(/([a-z])([A-Z])/g, '$1_$2').toLowerCase(), `${accountUri(accountSid)}/Usage/Records/${s}.json?${new URLSearchParams({ Category: t.category }).toString()}`]),
    ),
  };
}

export function renderUsageList(records: z.infer<typeof UsageRecordSchema>[], meta: PageMeta): z.infer<typeof UsageListSchema> {
  return { usage_records: records, ...meta };
}
