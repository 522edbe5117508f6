import { describe, expect, it } from 'vitest';
import { SnapshotDiff, matchesQuery, validateInstance } from '../../../../regions/discovery/snapshot.js';
import type { ServiceInstance } from '../../../../regions/discovery/types.js';

const inst = (id: string, extra: Partial<ServiceInstance> = {}): ServiceInstance => ({
  id,
  service: 'media',
  region: 'eu-west',
  address: '127.0.2.11',
  port: 22222,
  capabilities: ['relay', 'play'],
  meta: {},
  ...extra,
});

describe('matchesQuery', () => {
  it('matches on service, then optional region and capability', () => {
    const i = inst('a');
    expect(matchesQuery(i, { service: 'media' })).toBe(true);
    expect(matchesQuery(i, { service: 'signaling' })).toBe(false);
    expect(matchesQuery(i, { service: 'media', region: 'eu-west', capability: 'play' })).toBe(true);
    expect(matchesQuery(i, { service: 'media', region: 'us-east' })).toBe(false);
    expect(matchesQuery(i, { service: 'media', capability: 'record' })).toBe(false);
  });
});

describe('SnapshotDiff', () => {
  it('reports the first snapshot, then only real changes', () => {
    const d = new SnapshotDiff();
    expect(d.next([])).toEqual({ instances: [], added: [], removed: [] });
    expect(d.next([])).toBeUndefined();
    const a = inst('a');
    expect(d.next([a])?.added).toEqual([a]);
    expect(d.next([inst('a', { meta: {}, capabilities: ['play', 'relay'] })])).toBeUndefined(); // same set, other order
    const moved = inst('a', { port: 22223 });
    expect(d.next([moved])).toEqual({ instances: [moved], added: [moved], removed: [expect.objectContaining({ id: 'a', port: 22222 })] });
    expect(d.next([])).toEqual({ instances: [], added: [], removed: [moved] });
  });
});

describe('validateInstance', () => {
  it('accepts a well-formed instance and names what is wrong otherwise', () => {
    expect(validateInstance(inst('eu-west-media-1'))).toBeUndefined();
    expect(validateInstance(inst('has space'))).toMatch(/id/);
    expect(validateInstance(inst('a', { service: 'Media' }))).toMatch(/service/);
    expect(validateInstance(inst('a', { region: 'EU West' }))).toMatch(/region/);
    expect(validateInstance(inst('a', { region: 'constructor' }))).toMatch(/region "constructor" is a reserved name/);
    expect(validateInstance(inst('constructor'))).toMatch(/reserved/);
    expect(validateInstance(inst('a', { port: 70000 }))).toMatch(/port/);
    expect(validateInstance(inst('a', { meta: { 'bad key': 'x' } }))).toMatch(/meta key/);
  });
});
