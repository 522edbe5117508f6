import { describe, expect, it } from 'vitest';
import { PROBE_MAGIC, probePayload, probeSentNs } from '../../../../benchmarks/media-routing/app-caller.js';
import { linkDelayFor, regionOfAddress } from '../../../../benchmarks/media-routing/region-nat.js';

const BLOCKS = { 'us-east': '127.0.61.', 'eu-west': '127.0.62.' };

describe('app-edge emulated links', () => {
  it('regionOfAddress: by /24 block, exact', () => {
    expect(regionOfAddress('127.0.61.11', BLOCKS)).toBe('us-east');
    expect(regionOfAddress('127.0.62.50', BLOCKS)).toBe('eu-west');
    expect(regionOfAddress('127.0.6.1', BLOCKS)).toBeUndefined();
    expect(regionOfAddress('127.0.0.1', BLOCKS)).toBeUndefined();
    expect(regionOfAddress('nonsense', BLOCKS)).toBeUndefined();
  });

  it('linkDelayFor: the link delay from another region, 0 from inside or from no region', () => {
    expect(linkDelayFor('127.0.61.11', 'eu-west', BLOCKS, 40)).toBe(40);
    expect(linkDelayFor('127.0.62.50', 'eu-west', BLOCKS, 40)).toBe(0);
    expect(linkDelayFor('127.0.0.1', 'eu-west', BLOCKS, 40)).toBe(0);
  });
});

describe('app-edge probes', () => {
  it('a probe payload carries its send time and is told apart from audio', () => {
    const p = probePayload(7, 123456789012345n);
    expect(p.length).toBe(160);
    expect(p.readUInt32BE(0)).toBe(PROBE_MAGIC);
    expect(probeSentNs(p)).toBe(123456789012345n);
    expect(probeSentNs(Buffer.alloc(160, 0xff))).toBeUndefined();
    expect(probeSentNs(Buffer.alloc(8))).toBeUndefined();
  });
});
