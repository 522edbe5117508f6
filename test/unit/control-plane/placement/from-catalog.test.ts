import { describe, expect, it } from 'vitest';
import { choosePlacement, placementInputFromCatalog, placementNodesFromCatalog } from '../../../../control-plane/placement/index.js';
import { loadRegionCatalog } from '../../../../regions/catalog.js';
import { asRegionId } from '../../../../regions/core/ids.js';

describe('placement input from the region catalog', () => {
  const catalog = loadRegionCatalog(undefined, {});

  it('marks nodes discovery does not know as unhealthy and copies load', () => {
    const nodes = placementNodesFromCatalog(catalog, (id) => (id === 'eu-west-media-1' ? { healthy: true, load: 0.4, sessions: 8 } : undefined));
    expect(nodes).toHaveLength(6);
    expect(nodes.find((n) => n.id === 'eu-west-media-1')).toEqual({
      id: 'eu-west-media-1',
      region: 'eu-west',
      capabilities: ['relay', 'play', 'record', 'conference'],
      healthy: true,
      load: 0.4,
      sessions: 8,
    });
    expect(nodes.filter((n) => n.healthy)).toHaveLength(1);
  });

  it('feeds choosePlacement: eu-west media for a us-east tenant records with a branch home', () => {
    const nodes = placementNodesFromCatalog(catalog, () => ({ healthy: true, load: 0.1 }));
    const home = catalog.homeRegionRules.homeRegionOf('+15551230000');
    expect(home).toBe('us-east');
    const input = placementInputFromCatalog(catalog, { mediaRegion: asRegionId('eu-west'), homeRegion: home!, capability: 'record' }, nodes);
    expect(input.centralServices).toEqual(['record']);
    expect(choosePlacement(input)).toMatchObject({
      outcome: 'local-with-branch',
      nodeId: 'eu-west-media-1',
      branchTo: { region: 'us-east', service: 'record', delayMs: 40 },
    });
    const transcode = placementInputFromCatalog(catalog, { mediaRegion: asRegionId('ap-south'), homeRegion: asRegionId('ap-south'), capability: 'transcode' }, nodes);
    expect(choosePlacement(transcode)).toMatchObject({ outcome: 'remote', nodeId: 'us-east-media-2', delayMs: 110 });
  });
});
