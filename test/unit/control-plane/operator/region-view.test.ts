import { describe, expect, it } from 'vitest';
import { describeRegions, regionsFromCatalog } from '../../../../control-plane/operator/region-view.js';
import type { NodeInfo, RegionInfo } from '../../../../control-plane/operator/types.js';
import { loadRegionCatalog } from '../../../../regions/catalog.js';

const node = (id: string, region: string, kind: NodeInfo['kind'], healthy = true): NodeInfo => ({ id, region, kind, healthy, load: null, state: healthy ? 'serving' : 'dead', drained: false, drainedSince: null, lastPingAt: null });

const regions: RegionInfo[] = [
  { id: 'a', centralMedia: { address: '10.0.0.20', port: 8090, services: ['record'] }, linkDelaysMs: { b: 10, c: 30 } },
  { id: 'b', centralMedia: { address: '10.0.1.20', port: 8090, services: ['record'] }, linkDelaysMs: { a: 10 } },
  { id: 'c', centralMedia: { address: '10.0.2.20', port: 8090, services: [] }, linkDelaysMs: { a: 30 } },
];

describe('describeRegions', () => {
  it('splits nodes by region and kind, sorted by id', () => {
    const [a] = describeRegions(regions, [node('a-m2', 'a', 'media'), node('a-m1', 'a', 'media'), node('a-s', 'a', 'signaling'), node('a-c', 'a', 'central-media'), node('b-m', 'b', 'media')]);
    expect(a!.mediaNodes.map((n) => n.id)).toEqual(['a-m1', 'a-m2']);
    expect(a!.signalingNodes.map((n) => n.id)).toEqual(['a-s']);
    expect(a!.centralMedia).toMatchObject({ address: '10.0.0.20', services: ['record'], nodes: [{ id: 'a-c' }] });
  });

  it('reads a link up, partial or down from what discovery shows of the far region; unhealthy nodes do not count', () => {
    const links = (nodes: NodeInfo[]) => describeRegions(regions, nodes)[0]!.links.map((l) => [l.to, l.state, l.oneWayDelayMs]);
    expect(links([])).toEqual([
      ['b', 'down', 10],
      ['c', 'down', 30],
    ]);
    expect(links([node('b-s', 'b', 'signaling'), node('c-s', 'c', 'signaling')])).toEqual([
      ['b', 'partial', 10],
      // c has no central services: signaling alone is the whole far end.
      ['c', 'up', 30],
    ]);
    expect(links([node('b-s', 'b', 'signaling'), node('b-c', 'b', 'central-media')])[0]).toEqual(['b', 'up', 10]);
    expect(links([node('b-s', 'b', 'signaling', false), node('b-c', 'b', 'central-media')])[0]).toEqual(['b', 'partial', 10]);
    // A pair the catalog has no delay for says so instead of inventing one.
    expect(describeRegions(regions, [])[1]!.links.find((l) => l.to === 'c')).toMatchObject({ oneWayDelayMs: null, peerCentralMediaHealthy: null });
  });
});

describe('regionsFromCatalog', () => {
  it('lists every region of the embedded catalog with its SIP address, subnet, central media and delays', () => {
    const list = regionsFromCatalog(loadRegionCatalog(undefined, {}));
    expect(list.map((r) => r.id)).toEqual(['us-east', 'eu-west', 'ap-south']);
    expect(list[1]).toMatchObject({
      sipAddress: '127.0.2.1',
      sipPort: 5060,
      addresses: '127.0.2.0/24',
      centralMedia: { address: '127.0.2.20', port: 8090, services: ['record'] },
      linkDelaysMs: { 'us-east': 40, 'ap-south': 60 },
    });
  });
  it('a drilled cut shows as cut on both ends of the link, whatever discovery says', () => {
    const nodes = [node('b-s', 'b', 'signaling'), node('a-s', 'a', 'signaling')];
    const view = describeRegions(regions, nodes, [['b', 'a']]);
    expect(view[0]!.links.find((l) => l.to === 'b')?.state).toBe('cut');
    expect(view[1]!.links.find((l) => l.to === 'a')?.state).toBe('cut');
    expect(view[0]!.links.find((l) => l.to === 'c')?.state).not.toBe('cut');
  });
});
