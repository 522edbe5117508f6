import { describe, expect, it } from 'vitest';
import { formatMicros, parsePrice, startedMinutes } from '../../../../regions/pricing/money.js';

describe('money in integer micro-units', () => {
  it('parses decimal strings exactly', () => {
    expect(parsePrice('0.0140')).toBe(14000);
    expect(parsePrice('0.1')).toBe(100000);
    expect(parsePrice('12')).toBe(12_000_000);
    expect(parsePrice('0.000001')).toBe(1);
    // 0.1 + 0.2 is exact here
    expect(parsePrice('0.1') + parsePrice('0.2')).toBe(parsePrice('0.3'));
  });

  it('refuses what is not a bounded non-negative decimal, naming the field', () => {
    for (const bad of ['-0.01', '1e-3', '0.0000001', '10000', '', ' 1', '0,5', '.5']) {
      expect(() => parsePrice(bad, 'Price'), bad).toThrow(/Invalid parameter Price/);
    }
  });

  it('formats with at least five decimals, as the API shows prices', () => {
    expect(formatMicros(-28000)).toBe('-0.02800');
    expect(formatMicros(0)).toBe('0.00000');
    expect(formatMicros(1)).toBe('0.000001');
    expect(formatMicros(12_345_670)).toBe('12.34567');
    expect(formatMicros(14000, 4)).toBe('0.0140');
  });

  it('bills each started minute, at least one', () => {
    expect([0, 1, 59, 60, 61, 120, 121].map(startedMinutes)).toEqual([1, 1, 1, 1, 2, 2, 3]);
  });
});
