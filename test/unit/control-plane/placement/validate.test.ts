import { describe, expect, it } from 'vitest';
import { choosePlacement, MAX_PLACEMENT_NODES, validatePlacementInput } from '../../../../control-plane/placement/index.js';
import type { PlacementInput } from '../../../../control-plane/placement/index.js';
import { isMeshError } from '../../../../regions/core/errors.js';

const good = (): any => ({
  mediaRegion: 'eu-west',
  homeRegion: 'us-east',
  capability: 'play',
  nodes: [{ id: 'eu-1', region: 'eu-west', capabilities: ['play'], healthy: true, load: 0.5, sessions: 3 }],
  linkDelaysMs: { 'eu-west': { 'us-east': 40 } },
  centralServices: ['record'],
});

function rejects(mutate: (i: any) => void, field: string, message: RegExp): void {
  const i = good();
  mutate(i);
  try {
    choosePlacement(i as PlacementInput);
  } catch (e) {
    expect(isMeshError(e, 'BAD_REQUEST')).toBe(true);
    expect((e as Error).message).toMatch(new RegExp(`^placement input ${field.replace(/[[\].]/g, '\\$&')}: `));
    expect((e as Error).message).toMatch(message);
    return;
  }
  expect.unreachable(`expected ${field} to be rejected`);
}

describe('choosePlacement input validation', () => {
  it('accepts a good input', () => {
    expect(choosePlacement(good()).outcome).toBe('local');
  });

  it('rejects a non-object input', () => {
    expect(() => choosePlacement(null as unknown as PlacementInput)).toThrowError(/placement input \(root\): must be an object/);
  });

  it('rejects bad regions and capability', () => {
    rejects((i) => (i.mediaRegion = ''), 'mediaRegion', /non-empty region id/);
    rejects((i) => (i.homeRegion = 7), 'homeRegion', /non-empty region id/);
    rejects((i) => (i.capability = 'teleport'), 'capability', /unknown capability teleport/);
    rejects((i) => (i.centralServices = 'record'), 'centralServices', /must be an array/);
    rejects((i) => (i.centralServices = ['record', 'fax']), 'centralServices[1]', /unknown capability fax/);
  });

  it('rejects a bad delay matrix', () => {
    rejects((i) => (i.linkDelaysMs = []), 'linkDelaysMs', /must be an object/);
    rejects((i) => (i.linkDelaysMs = { 'eu-west': 5 }), 'linkDelaysMs.eu-west', /must be an object/);
    rejects((i) => (i.linkDelaysMs['eu-west']['us-east'] = -1), 'linkDelaysMs.eu-west.us-east', /finite delay/);
    rejects((i) => (i.linkDelaysMs['eu-west']['us-east'] = Number.NaN), 'linkDelaysMs.eu-west.us-east', /finite delay/);
    rejects((i) => (i.linkDelaysMs = Object.fromEntries(Array.from({ length: 65 }, (_, k) => [`r${k}`, {}]))), 'linkDelaysMs', /at most 64/);
  });

  it('rejects bad nodes, naming the index', () => {
    rejects((i) => (i.nodes = {}), 'nodes', /must be an array/);
    rejects((i) => (i.nodes[0] = null), 'nodes[0]', /must be an object/);
    rejects((i) => (i.nodes[0].id = ''), 'nodes[0].id', /non-empty node id/);
    rejects((i) => delete i.nodes[0].region, 'nodes[0].region', /non-empty region id/);
    rejects((i) => (i.nodes[0].capabilities = ['play', 'x']), 'nodes[0].capabilities[1]', /unknown capability x/);
    rejects((i) => (i.nodes[0].healthy = 'yes'), 'nodes[0].healthy', /boolean/);
    rejects((i) => (i.nodes[0].load = 1.5), 'nodes[0].load', /0\.\.1/);
    rejects((i) => (i.nodes[0].load = Number.NaN), 'nodes[0].load', /0\.\.1/);
    rejects((i) => (i.nodes[0].sessions = -1), 'nodes[0].sessions', /integer ≥ 0/);
    rejects((i) => (i.nodes[0].sessions = 1.5), 'nodes[0].sessions', /integer ≥ 0/);
  });

  it('leaves id uniqueness to validatePlacementInput, which checks everything else too', () => {
    const i = good();
    i.nodes.push({ ...i.nodes[0], load: 0.1 });
    expect(() => validatePlacementInput(i)).toThrowError(/^placement input nodes\[1\]\.id: duplicate node id eu-1$/);
    expect(choosePlacement(i).outcome).toBe('local');
    const j = good();
    j.nodes[0].load = 2;
    expect(() => validatePlacementInput(j)).toThrowError(/nodes\[0\]\.load: must be a number in 0\.\.1/);
    const k = good();
    k.nodes[0].capabilities = ['play', 'fax'];
    expect(() => validatePlacementInput(k)).toThrowError(/nodes\[0\]\.capabilities\[1\]: unknown capability fax/);
    expect(() => validatePlacementInput(good())).not.toThrow();
  });

  it('bounds the node list', () => {
    rejects((i) => (i.nodes = new Array(MAX_PLACEMENT_NODES + 1)), 'nodes', /at most 100000 nodes/);
  });
});
