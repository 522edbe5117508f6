import { describe, expect, it } from 'vitest';
import { randomString } from '../../../../regions/core/random-pool.js';
import { isSid, newSid } from '../../../../regions/store/sids.js';

describe('pooled random identifiers', () => {
  it('gives the asked length in each encoding, distinct across pool refills', () => {
    const seen = new Set<string>();
    // 16 bytes × 1000 draws crosses the 4 KiB pool several times.
    for (let i = 0; i < 1000; i++) {
      const hex = randomString(16, 'hex');
      expect(hex).toMatch(/^[0-9a-f]{32}$/);
      seen.add(hex);
    }
    expect(seen.size).toBe(1000);
    expect(randomString(12, 'base64url')).toMatch(/^[A-Za-z0-9_-]{16}$/);
  });

  it('refuses sizes outside 1..256', () => {
    expect(() => randomString(0, 'hex')).toThrow(RangeError);
    expect(() => randomString(257, 'hex')).toThrow(RangeError);
    expect(() => randomString(1.5, 'hex')).toThrow(RangeError);
  });

  it('SIDs drawn from it keep their format', () => {
    expect(isSid(newSid('CA'), 'CA')).toBe(true);
  });
});
