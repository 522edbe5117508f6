import { describe, expect, it } from 'vitest';
import { subresourceQuery, resolveDate } from '../../../../control-plane/api/schemas/usage.js';
import { summarizeUsage, type UsageRow } from '../../../../regions/store/usage.js';

const row = (category: UsageRow['category'], region: string, day: string, quantity: number, priceMicros = 0): UsageRow => ({ accountSid: 'AC1', category, region, day, quantity, priceMicros });
const rows = [
  row('calls-outbound', 'us-east', '2026-03-01', 2),
  row('calls-outbound', 'eu-west', '2026-03-02', 1.5),
  row('calls-outbound', 'us-east', '2026-04-01', 10),
  row('api-requests', 'us-east', '2026-03-02', 7),
];

describe('summarizeUsage', () => {
  it('totals per category over a range, every category present', () => {
    const t = summarizeUsage(rows, { startDate: '2026-03-01', endDate: '2026-03-31', groupBy: 'all' });
    // Six stored categories plus the derived `calls` and `totalprice`.
    expect(t).toHaveLength(8);
    expect(t.find((x) => x.category === 'calls')).toMatchObject({ quantity: 3.5 });
    expect(t.find((x) => x.category === 'calls-outbound')).toMatchObject({ quantity: 3.5, byRegion: { 'us-east': 2, 'eu-west': 1.5 } });
    expect(t.find((x) => x.category === 'recordings')?.quantity).toBe(0);
    expect(t.find((x) => x.category === 'calls-client')?.quantity).toBe(0);
  });
  it('a region named like an Object.prototype member is counted like any other', () => {
    const odd = [row('calls-outbound', 'constructor', '2026-03-01', 2), row('calls-outbound', '__proto__', '2026-03-01', 3), row('calls-outbound', 'us-east', '2026-03-01', 1)];
    const t = summarizeUsage(odd, { startDate: '2026-03-01', endDate: '2026-03-31', groupBy: 'all', category: 'calls-outbound' });
    expect(Object.entries(t[0]!.byRegion).sort()).toEqual([['__proto__', 3], ['constructor', 2], ['us-east', 1]]);
  });
  it('calls-client minutes stand alone and add to the calls total', () => {
    const t = summarizeUsage([...rows, row('calls-client', 'us-east', '2026-03-03', 4)], { startDate: '2026-03-01', endDate: '2026-03-31', groupBy: 'all' });
    expect(t.find((x) => x.category === 'calls-client')).toMatchObject({ quantity: 4, byRegion: { 'us-east': 4 } });
    expect(t.find((x) => x.category === 'calls')).toMatchObject({ quantity: 7.5 });
    expect(t.find((x) => x.category === 'calls-outbound')?.quantity).toBe(3.5);
  });
  it('filters by category and region, groups by day and month', () => {
    expect(summarizeUsage(rows, { startDate: '2026-01-01', endDate: '2026-12-31', groupBy: 'all', category: 'calls-outbound', region: 'us-east' })).toEqual([
      expect.objectContaining({ quantity: 12 }),
    ]);
    const daily = summarizeUsage(rows, { startDate: '2026-03-01', endDate: '2026-03-31', groupBy: 'day', category: 'calls-outbound' });
    expect(daily.map((d) => [d.startDate, d.quantity])).toEqual([
      ['2026-03-02', 1.5],
      ['2026-03-01', 2],
    ]);
    const monthly = summarizeUsage(rows, { startDate: '2026-01-01', endDate: '2026-12-31', groupBy: 'month', category: 'calls-outbound' });
    expect(monthly.map((d) => [d.startDate, d.endDate, d.quantity])).toEqual([
      ['2026-04-01', '2026-04-30', 10],
      ['2026-03-01', '2026-03-31', 3.5],
    ]);
  });
});

describe('priced usage', () => {
  const priced = [
    row('calls-outbound', 'us-east', '2026-03-01', 2, 28000),
    row('calls-inbound', 'eu-west', '2026-03-01', 1, 10000),
    row('recordings', 'us-east', '2026-03-01', 1, 2500),
    row('api-requests', 'us-east', '2026-03-01', 40),
  ];
  it('each category carries its price; calls sums inbound and outbound', () => {
    const t = summarizeUsage(priced, { startDate: '2026-03-01', endDate: '2026-03-31', groupBy: 'all' });
    expect(t.find((x) => x.category === 'calls-outbound')?.priceMicros).toBe(28000);
    expect(t.find((x) => x.category === 'calls')).toMatchObject({ quantity: 3, priceMicros: 38000 });
  });
  it('totalprice sums the prices of every category (quantity and per region in µ-units), not the counts', () => {
    const t = summarizeUsage(priced, { startDate: '2026-03-01', endDate: '2026-03-31', groupBy: 'all', category: 'totalprice' });
    expect(t).toEqual([expect.objectContaining({ category: 'totalprice', quantity: 40500, priceMicros: 40500, byRegion: { 'us-east': 30500, 'eu-west': 10000 } })]);
  });
});

describe('usage periods', () => {
  const today = new Date('2026-03-15T10:00:00Z');
  it('resolves presets against today (UTC)', () => {
    expect(subresourceQuery('Today', today, '', '')).toEqual({ startDate: '2026-03-15', endDate: '2026-03-15', groupBy: 'all' });
    expect(subresourceQuery('Yesterday', today, '', '')).toMatchObject({ startDate: '2026-03-14' });
    expect(subresourceQuery('ThisMonth', today, '', '')).toMatchObject({ startDate: '2026-03-01', endDate: '2026-03-15' });
    expect(subresourceQuery('LastMonth', today, '', '')).toMatchObject({ startDate: '2026-02-01', endDate: '2026-02-28' });
  });
  it('resolves relative dates', () => {
    expect(resolveDate('-30days', today)).toBe('2026-02-13');
    expect(resolveDate('2026-01-02', today)).toBe('2026-01-02');
  });
});
