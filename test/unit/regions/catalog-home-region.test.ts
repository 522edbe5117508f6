import { describe, expect, it } from 'vitest';
import { HomeRegionRules, normaliseNumber } from '../../../regions/catalog.js';

const T1 = `AC${'1'.repeat(32)}`;
const T2 = `AC${'2'.repeat(32)}`;
const T3 = `AC${'3'.repeat(32)}`;

describe('HomeRegionRules', () => {
  const rules = new HomeRegionRules({
    '+1555': { tenant: T1, homeRegion: 'us-east' },
    '+15550100': { tenant: T2, homeRegion: 'eu-west' },
    '+44': { tenant: T3, homeRegion: 'eu-west' },
    '1555': { tenant: T3, homeRegion: 'ap-south' },
  });

  it('matches by prefix, the longest prefix winning', () => {
    expect(rules.lookup('+15551234567')).toEqual({ prefix: '+1555', tenant: T1, homeRegion: 'us-east' });
    expect(rules.lookup('+15550100999')).toEqual({ prefix: '+15550100', tenant: T2, homeRegion: 'eu-west' });
    expect(rules.homeRegionOf('+442071234567')).toBe('eu-west');
  });

  it('does not let the rule order decide', () => {
    const reversed = new HomeRegionRules({
      '+15550100': { tenant: T2, homeRegion: 'eu-west' },
      '+1555': { tenant: T1, homeRegion: 'us-east' },
    });
    expect(reversed.lookup('+15550100999')?.tenant).toBe(T2);
    expect(reversed.list().map((r) => r.prefix)).toEqual(['+15550100', '+1555']);
  });

  it('treats a leading + as part of the prefix', () => {
    expect(rules.lookup('15551234567')).toMatchObject({ prefix: '1555', homeRegion: 'ap-south' });
  });

  it('ignores RFC 3966 visual separators', () => {
    expect(normaliseNumber('+1 (555) 010-0.999')).toBe('+15550100999');
    expect(rules.lookup('+1 (555) 010-0999')?.prefix).toBe('+15550100');
  });

  it('returns undefined for no match, an empty or an overlong number', () => {
    expect(rules.lookup('+33123456789')).toBeUndefined();
    expect(rules.lookup('')).toBeUndefined();
    expect(rules.lookup(`+1555${'0'.repeat(100)}`)).toBeUndefined();
    expect(new HomeRegionRules({}).lookup('+15551234567')).toBeUndefined();
    expect(rules.size).toBe(4);
  });
});
