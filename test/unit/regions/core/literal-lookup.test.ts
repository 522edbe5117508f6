import { describe, expect, it } from 'vitest';
import { literalLookup } from '../../../../regions/core/literal-lookup.js';

describe('literalLookup', () => {
  it('answers an IPv4 or IPv6 literal in the same tick, with its family', () => {
    const got: [string, number][] = [];
    literalLookup('127.0.0.7', 4, (err, address, family) => {
      expect(err).toBeNull();
      got.push([address, family]);
    });
    literalLookup('::1', 6, (_err, address, family) => got.push([address, family]));
    // Synchronous: dns.lookup would have answered only on the next tick.
    expect(got).toEqual([
      ['127.0.0.7', 4],
      ['::1', 6],
    ]);
  });

  it('leaves a name to dns.lookup, which answers later', async () => {
    let returned = false;
    let answeredBeforeReturn: boolean | undefined;
    const result = await new Promise<[string, number]>((resolve, reject) => {
      literalLookup('localhost', 4, (err, address, family) => {
        answeredBeforeReturn = !returned;
        if (err) reject(err);
        else resolve([address, family]);
      });
      returned = true;
    });
    expect(answeredBeforeReturn).toBe(false);
    expect(result[1]).toBe(4);
    expect(result[0]).toMatch(/^127\./);
  });
});
