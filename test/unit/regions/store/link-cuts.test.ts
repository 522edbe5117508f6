import { describe, expect, it } from 'vitest';
import { isMeshError } from '../../../../regions/core/errors.js';
import { linkPair } from '../../../../regions/store/link-cuts.js';

describe('linkPair', () => {
  it('is one pair whichever order the regions are named in', () => {
    expect(linkPair('us-east', 'eu-west')).toEqual(['eu-west', 'us-east']);
    expect(linkPair('eu-west', 'us-east')).toEqual(['eu-west', 'us-east']);
  });

  it('refuses the same region twice, the pair separator and over-long ids', () => {
    for (const [a, b] of [['us-east', 'us-east'], ['us|east', 'eu-west'], ['x'.repeat(65), 'eu-west'], ['', 'eu-west']] as const) {
      let err: unknown;
      try {
        linkPair(a, b);
      } catch (e) {
        err = e;
      }
      expect(isMeshError(err, 'BAD_REQUEST')).toBe(true);
    }
  });
});
