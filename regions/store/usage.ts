/**
 * Usage: the one owner of usage records for both sides. Every billable thing
 * (call minutes, recordings, media branches, API requests) adds to one
 * counter per account × category × region × UTC day: the hash `usage` of
 * keys.ts, field `category|region|YYYY-MM-DD`. Totals per period are one
 * HGETALL, and roll-ups to the parent add the subaccounts' hashes. A priced
 * event also adds its price, in integer micro-units (regions/pricing/money.ts),
 * to the field `price:category|region|YYYY-MM-DD` of the same hash (HINCRBY:
 * no float ever holds money); readers of the older layout skip that field. Usage is
 * written before the thing it accounts for is acknowledged (the signaling
 * node's call minutes, the media side's branches and recordings, the tenant
 * API's requests); the Usage/Records API reads and sums it here.
 */
import type { Redis } from 'ioredis';
import { keys } from './keys.js';

/** Usage categories (Usage/Records `Category`). */
export type UsageCategory = 'calls-inbound' | 'calls-outbound' | 'calls-client' | 'recordings' | 'media-branches' | 'api-requests';

/**
 * The call-minute categories. `calls-client` holds the minutes of a call with a
 * browser/app client as its party (a client's outgoing call, a call to
 * `client:<identity>`), as the 2010-04-01 API counts them: there, not in
 * `calls-inbound`/`calls-outbound`, and inside the `calls` total.
 */
export type CallMinutesCategory = 'calls-inbound' | 'calls-outbound' | 'calls-client';

/** Which call-minute category a call's minutes go to: `calls-client` when either party is a client. */
export function callMinutesCategory(c: { from: string; to: string }, otherwise: 'calls-inbound' | 'calls-outbound'): CallMinutesCategory {
  return c.from.startsWith('client:') || c.to.startsWith('client:') ? 'calls-client' : otherwise;
}

export interface UsageEvent {
  accountSid: string;
  category: UsageCategory;
  region: string;
  quantity: number;
  /** minutes | recordings | branches | requests */
  unit: string;
  /** ms since epoch */
  at: number;
  /** Its price in µ-units (positive), when it was priced. */
  priceMicros?: number;
}

/** The stored categories; a hash field of another category is ignored when read. */
export const USAGE_CATEGORIES: readonly UsageCategory[] = [
  'calls-inbound',
  'calls-outbound',
  'calls-client',
  'recordings',
  'media-branches',
  'api-requests',
];

/** UTC calendar day of a timestamp, YYYY-MM-DD. */
export function usageDay(atMs: number): string {
  return new Date(atMs).toISOString().slice(0, 10);
}

/** Hash field of a usage counter: `category|region|YYYY-MM-DD`. */
export function usageField(e: Pick<UsageEvent, 'category' | 'region' | 'at'>): string {
  return `${e.category}|${e.region}|${usageDay(e.at)}`;
}

/** Hash field of a usage price: `price:category|region|YYYY-MM-DD`, integer µ-units. */
export function usagePriceField(e: Pick<UsageEvent, 'category' | 'region' | 'at'>): string {
  return `${PRICE_FIELD_PREFIX}${usageField(e)}`;
}
const PRICE_FIELD_PREFIX = 'price:';

export async function recordUsage(redis: Redis, prefix: string, e: UsageEvent): Promise<void> {
  const key = keys(prefix).usage(e.accountSid);
  if (e.priceMicros === undefined) {
    await redis.hincrbyfloat(key, usageField(e), e.quantity);
    return;
  }
  if (!Number.isSafeInteger(e.priceMicros) || e.priceMicros < 0) throw new RangeError(`usage price must be a non-negative integer of µ-units, got ${e.priceMicros}`);
  await redis.multi().hincrbyfloat(key, usageField(e), e.quantity).hincrby(key, usagePriceField(e), e.priceMicros).exec();
}

/** Call minutes of an answered call: each started minute counts, at least one (the API's rounding). */
export function recordCallMinutes(
  redis: Redis,
  prefix: string,
  c: { accountSid: string; category: CallMinutesCategory; region: string; durationS: number; at: number; priceMicros?: number | undefined },
): Promise<void> {
  return recordUsage(redis, prefix, {
    accountSid: c.accountSid,
    category: c.category,
    region: c.region,
    quantity: Math.max(1, Math.ceil(c.durationS / 60)),
    unit: 'minutes',
    at: c.at,
    ...(c.priceMicros === undefined ? {} : { priceMicros: c.priceMicros }),
  });
}

export interface UsageRow {
  accountSid: string;
  category: UsageCategory;
  region: string;
  day: string;
  quantity: number;
  /** Sum of the prices of the row's events, µ-units (0 when none was priced). */
  priceMicros: number;
}

/** All usage rows of some accounts (one HGETALL each, pipelined). */
export async function readUsageRows(redis: Redis, prefix: string, accountSids: string[]): Promise<UsageRow[]> {
  if (accountSids.length === 0) return [];
  const k = keys(prefix);
  const pipeline = redis.pipeline();
  for (const sid of accountSids) pipeline.hgetall(k.usage(sid));
  const results = (await pipeline.exec()) ?? [];
  const rows: UsageRow[] = [];
  results.forEach(([err, hash], i) => {
    if (err !== null) throw err;
    const accountSid = accountSids[i] as string;
    const byField = new Map<string, UsageRow>();
    const rowOf = (field: string): UsageRow | undefined => {
      const [category, region, day] = field.split('|');
      if (category === undefined || region === undefined || day === undefined) return undefined;
      if (!(USAGE_CATEGORIES as readonly string[]).includes(category)) return undefined;
      let row = byField.get(field);
      if (row === undefined) {
        row = { accountSid, category: category as UsageCategory, region, day, quantity: 0, priceMicros: 0 };
        byField.set(field, row);
      }
      return row;
    };
    for (const [field, value] of Object.entries(hash as Record<string, string>)) {
      if (field.startsWith(PRICE_FIELD_PREFIX)) {
        const row = rowOf(field.slice(PRICE_FIELD_PREFIX.length));
        if (row !== undefined) row.priceMicros += Number(value);
      } else {
        const row = rowOf(field);
        if (row !== undefined) row.quantity += Number(value);
      }
    }
    rows.push(...byField.values());
  });
  return rows;
}

// The Usage/Records report: stored rows summed per category and period.

/**
 * Categories the API reports that are sums of stored ones, as the 2010-04-01
 * API has them: `calls` is inbound + outbound + client minutes; `totalprice` is the sum
 * of the prices of every category (its quantity is that price, not a count).
 */
export const DERIVED_USAGE = {
  calls: ['calls-inbound', 'calls-outbound', 'calls-client'],
  totalprice: USAGE_CATEGORIES,
} as const satisfies Record<string, readonly UsageCategory[]>;

export type ReportCategory = UsageCategory | keyof typeof DERIVED_USAGE;

/** Every category a usage record can name, stored or derived (the values `Category=` accepts). */
export const REPORT_CATEGORIES: readonly ReportCategory[] = [...USAGE_CATEGORIES, ...(Object.keys(DERIVED_USAGE) as (keyof typeof DERIVED_USAGE)[])];

/** The report categories a stored row adds to: its own and every derived total that includes it. */
function reportCategoriesOf(category: UsageCategory): ReportCategory[] {
  const derived = (Object.entries(DERIVED_USAGE) as [keyof typeof DERIVED_USAGE, readonly UsageCategory[]][])
    .filter(([, parts]) => parts.includes(category))
    .map(([name]) => name);
  return [category, ...derived];
}

export const USAGE_UNITS: Record<ReportCategory, string> = {
  calls: 'minutes',
  totalprice: 'usd',
  'calls-inbound': 'minutes',
  'calls-outbound': 'minutes',
  'calls-client': 'minutes',
  recordings: 'recordings',
  'media-branches': 'branches',
  'api-requests': 'requests',
};

export const USAGE_DESCRIPTIONS: Record<ReportCategory, string> = {
  calls: 'Voice minutes, inbound, outbound and client',
  totalprice: 'Total price of all usage',
  'calls-inbound': 'Inbound voice minutes',
  'calls-outbound': 'Outbound voice minutes',
  'calls-client': 'Client voice minutes (browser and app clients)',
  recordings: 'Voice recordings',
  'media-branches': 'Media branches (forks of a call\'s media)',
  'api-requests': 'API requests',
};

export interface UsageTotal {
  category: ReportCategory;
  /** First and last day of the period the total covers (YYYY-MM-DD). */
  startDate: string;
  endDate: string;
  quantity: number;
  /** Quantity per region within the total (for `totalprice`: its price per region, µ-units). */
  byRegion: Record<string, number>;
  /** Price of the total, µ-units. */
  priceMicros: number;
}

export interface UsageQuery {
  startDate: string;
  endDate: string;
  category?: ReportCategory;
  region?: string;
  /** `all`: one total per category over the range; otherwise one per category and day/month/year. */
  groupBy: 'all' | 'day' | 'month' | 'year';
}

function lastDayOfMonth(yyyyMm: string): string {
  const [y, m] = yyyyMm.split('-').map(Number) as [number, number];
  return new Date(Date.UTC(y, m, 0)).toISOString().slice(0, 10);
}

/** Sums rows into totals per category (and period); with groupBy `all` every category is present, zero or not. */
export function summarizeUsage(rows: UsageRow[], q: UsageQuery): UsageTotal[] {
  const periodOf = (day: string): [string, string] => {
    switch (q.groupBy) {
      case 'all':
        return [q.startDate, q.endDate];
      case 'day':
        return [day, day];
      case 'month':
        return [`${day.slice(0, 7)}-01`, lastDayOfMonth(day.slice(0, 7))];
      case 'year':
        return [`${day.slice(0, 4)}-01-01`, `${day.slice(0, 4)}-12-31`];
    }
  };
  const categories = q.category === undefined ? REPORT_CATEGORIES : [q.category];
  const totals = new Map<string, UsageTotal>();
  if (q.groupBy === 'all') {
    for (const category of categories) {
      totals.set(category, { category, startDate: q.startDate, endDate: q.endDate, quantity: 0, byRegion: Object.create(null) as Record<string, number>, priceMicros: 0 });
    }
  }
  for (const row of rows) {
    if (row.day < q.startDate || row.day > q.endDate) continue;
    if (q.region !== undefined && row.region !== q.region) continue;
    const [startDate, endDate] = periodOf(row.day);
    for (const category of reportCategoriesOf(row.category)) {
      if (!categories.includes(category)) continue;
      const key = q.groupBy === 'all' ? category : `${category}|${startDate}`;
      // byRegion without a prototype: a region named `constructor` or `__proto__` is a plain key.
      const total = totals.get(key) ?? { category, startDate, endDate, quantity: 0, byRegion: Object.create(null) as Record<string, number>, priceMicros: 0 };
      // totalprice counts money: its quantity is the price (µ-units), per region too.
      const amount = category === 'totalprice' ? row.priceMicros : row.quantity;
      total.quantity += amount;
      total.byRegion[row.region] = (total.byRegion[row.region] ?? 0) + amount;
      total.priceMicros += row.priceMicros;
      totals.set(key, total);
    }
  }
  return [...totals.values()].sort((a, b) => a.category.localeCompare(b.category) || b.startDate.localeCompare(a.startDate));
}
