import { describe, expect, it } from 'vitest';
import { choosePlacement, placedNode } from '../../../../control-plane/placement/index.js';
import type { MediaCapability, PlacementInput, PlacementNode } from '../../../../control-plane/placement/index.js';
import { asNodeId, asRegionId } from '../../../../regions/core/ids.js';

const US = asRegionId('us-east');
const EU = asRegionId('eu-west');
const AP = asRegionId('ap-south');

const LINKS = {
  'us-east': { 'eu-west': 40, 'ap-south': 110 },
  'eu-west': { 'us-east': 40, 'ap-south': 60 },
  'ap-south': { 'us-east': 110, 'eu-west': 60 },
};

function node(
  id: string,
  region: string,
  capabilities: MediaCapability[],
  opts: { healthy?: boolean; load?: number; sessions?: number } = {},
): PlacementNode {
  const n: { -readonly [K in keyof PlacementNode]: PlacementNode[K] } = {
    id: asNodeId(id),
    region: asRegionId(region),
    capabilities,
    healthy: opts.healthy ?? true,
  };
  if (opts.load !== undefined) n.load = opts.load;
  if (opts.sessions !== undefined) n.sessions = opts.sessions;
  return n;
}

const BASIC: MediaCapability[] = ['relay', 'play', 'record'];

/** The embedded default's shape: two nodes per region, transcode only on us-east-media-2. */
function defaultNodes(): PlacementNode[] {
  return [
    node('us-east-media-1', 'us-east', [...BASIC, 'conference'], { load: 0.5 }),
    node('us-east-media-2', 'us-east', [...BASIC, 'transcode'], { load: 0.3 }),
    node('eu-west-media-1', 'eu-west', [...BASIC, 'conference'], { load: 0.4 }),
    node('eu-west-media-2', 'eu-west', BASIC, { load: 0.2 }),
    node('ap-south-media-1', 'ap-south', [...BASIC, 'conference'], { load: 0.1 }),
    node('ap-south-media-2', 'ap-south', BASIC, { load: 0.6 }),
  ];
}

function input(over: Partial<PlacementInput> = {}): PlacementInput {
  return {
    mediaRegion: EU,
    homeRegion: US,
    capability: 'play',
    nodes: defaultNodes(),
    linkDelaysMs: LINKS,
    centralServices: ['record'],
    ...over,
  };
}

describe('choosePlacement: local', () => {
  it('picks the least-loaded node with the capability in the media region', () => {
    const d = choosePlacement(input({ capability: 'play' }));
    expect(d).toMatchObject({ outcome: 'local', nodeId: 'eu-west-media-2', region: 'eu-west' });
    expect(d.score).toMatchObject({ localCandidates: 2, remoteCandidates: 4, chosen: { nodeId: 'eu-west-media-2', delayMs: 0, load: 0.2 } });
    expect(d.score.runnersUp.map((c) => c.nodeId)).toEqual(['eu-west-media-1']);
    expect(d.reasons).toEqual([
      'Media is in eu-west, home is us-east, need play.',
      'eu-west-media-2 chosen from 2 node(s) in eu-west with play (load 0.2).',
    ]);
  });

  it('stays local even when a remote node is far less loaded', () => {
    const nodes = [node('eu-1', 'eu-west', ['conference'], { load: 0.9 }), node('us-1', 'us-east', ['conference'], { load: 0 })];
    expect(choosePlacement(input({ capability: 'conference', nodes }))).toMatchObject({ outcome: 'local', nodeId: 'eu-1' });
  });

  it('breaks a load tie on sessions, then on id', () => {
    const bySessions = [node('eu-a', 'eu-west', ['play'], { load: 0.2, sessions: 9 }), node('eu-b', 'eu-west', ['play'], { load: 0.2, sessions: 3 })];
    const d1 = choosePlacement(input({ nodes: bySessions }));
    expect(d1).toMatchObject({ outcome: 'local', nodeId: 'eu-b' });
    expect(d1.reasons.at(-1)).toMatch(/ahead of eu-a on sessions/);

    const byId = [node('eu-b', 'eu-west', ['play'], { load: 0.2 }), node('eu-a', 'eu-west', ['play'], { load: 0.2 })];
    const d2 = choosePlacement(input({ nodes: byId }));
    expect(d2).toMatchObject({ outcome: 'local', nodeId: 'eu-a' });
    expect(d2.reasons.at(-1)).toMatch(/ahead of eu-b on id \(equal load\)/);
  });

  it('ranks by session count when nodes report no load, and unreported load last', () => {
    const sessionsOnly = [node('eu-a', 'eu-west', ['play'], { sessions: 40 }), node('eu-b', 'eu-west', ['play'], { sessions: 12 })];
    expect(choosePlacement(input({ nodes: sessionsOnly })).score.chosen?.nodeId).toBe('eu-b');
    const mixed = [node('eu-a', 'eu-west', ['play'], { sessions: 0 }), node('eu-b', 'eu-west', ['play'], { load: 0.95 })];
    expect(choosePlacement(input({ nodes: mixed })).score.chosen?.nodeId).toBe('eu-b');
    const none = [node('eu-b', 'eu-west', ['play']), node('eu-a', 'eu-west', ['play'])];
    const d = choosePlacement(input({ nodes: none }));
    expect(d.score.chosen).toEqual({ nodeId: 'eu-a', region: 'eu-west', delayMs: 0, load: null, sessions: null });
    expect(d.reasons.at(-1)).toMatch(/no load reported/);
  });

  it('reports at most three runners-up, best first', () => {
    const nodes = [0.5, 0.1, 0.4, 0.3, 0.2, 0.6].map((load, i) => node(`eu-${i}`, 'eu-west', ['play'], { load }));
    const d = choosePlacement(input({ nodes }));
    expect(d.score.chosen?.nodeId).toBe('eu-1');
    expect(d.score.runnersUp.map((c) => c.nodeId)).toEqual(['eu-4', 'eu-3', 'eu-2']);
    expect(d.score.localCandidates).toBe(6);
  });
});

describe('choosePlacement: region ids named like Object.prototype members', () => {
  it('a node in a region without a link is unreachable, whatever the region is called', () => {
    for (const region of ['ap-south', 'constructor', 'toString']) {
      const d = choosePlacement(input({ mediaRegion: US, homeRegion: US, capability: 'relay', linkDelaysMs: { 'us-east': { 'eu-west': 40 } }, nodes: [node('n1', region, ['relay'])] }));
      expect(d.outcome).toBe('unavailable');
    }
    const fromOdd = choosePlacement(input({ mediaRegion: asRegionId('constructor'), homeRegion: US, capability: 'relay', nodes: [node('n1', 'valueOf', ['relay'])] }));
    expect(fromOdd.outcome).toBe('unavailable');
  });
});

describe('choosePlacement: remote', () => {
  it('routes through the remote node with the lowest link delay, even if busier', () => {
    const nodes = [
      node('ap-1', 'ap-south', BASIC, { load: 0 }),
      node('us-1', 'us-east', ['transcode'], { load: 0.1 }),
      node('eu-1', 'eu-west', ['transcode'], { load: 0.8 }),
    ];
    const d = choosePlacement(input({ mediaRegion: AP, capability: 'transcode', nodes }));
    expect(d).toMatchObject({ outcome: 'remote', nodeId: 'eu-1', region: 'eu-west', delayMs: 60 });
    expect(d.score).toMatchObject({ localCandidates: 0, remoteCandidates: 2 });
    expect(d.score.runnersUp).toEqual([{ nodeId: 'us-1', region: 'us-east', delayMs: 110, load: 0.1, sessions: null }]);
    expect(d.reasons.slice(1)).toEqual([
      'No usable node in ap-south has transcode; 2 elsewhere do.',
      'eu-1 in eu-west chosen: nearest at 60 ms one way (load 0.8).',
    ]);
  });

  it('uses the default layout: transcode from ap-south goes to us-east', () => {
    const d = choosePlacement(input({ mediaRegion: AP, homeRegion: AP, capability: 'transcode' }));
    expect(d).toMatchObject({ outcome: 'remote', nodeId: 'us-east-media-2', region: 'us-east', delayMs: 110 });
    expect(placedNode(d)).toEqual({ nodeId: 'us-east-media-2', region: 'us-east' });
  });

  it('breaks a delay tie on load, and says so', () => {
    const links = { 'ap-south': { 'us-east': 50, 'eu-west': 50 }, 'us-east': { 'ap-south': 50 }, 'eu-west': { 'ap-south': 50 } };
    const nodes = [node('us-1', 'us-east', ['transcode'], { load: 0.7 }), node('eu-1', 'eu-west', ['transcode'], { load: 0.3 })];
    const d = choosePlacement(input({ mediaRegion: AP, capability: 'transcode', nodes, linkDelaysMs: links }));
    expect(d).toMatchObject({ outcome: 'remote', nodeId: 'eu-1', delayMs: 50 });
    expect(d.reasons.at(-1)).toBe('eu-1 in eu-west chosen: nearest at 50 ms one way (load 0.3) ahead of us-1 on load.');
  });

  it('skips remote nodes in regions with no link from the media region', () => {
    const links = { 'ap-south': { 'eu-west': 60 } };
    const nodes = [node('us-1', 'us-east', ['transcode'], { load: 0 }), node('eu-1', 'eu-west', ['transcode'], { load: 0.9 })];
    const d = choosePlacement(input({ mediaRegion: AP, capability: 'transcode', nodes, linkDelaysMs: links }));
    expect(d).toMatchObject({ outcome: 'remote', nodeId: 'eu-1' });
    expect(d.score).toMatchObject({ remoteCandidates: 1, unreachable: 1 });
  });
});

describe('choosePlacement: central service of the home region', () => {
  it('keeps media on a local relay, stores locally and branches to the home region', () => {
    const d = choosePlacement(input({ capability: 'record' }));
    expect(d).toMatchObject({
      outcome: 'local-with-branch',
      nodeId: 'eu-west-media-2',
      region: 'eu-west',
      branchTo: { region: 'us-east', service: 'record', delayMs: 40 },
      storeLocally: true,
    });
    expect(d.reasons.slice(1)).toEqual([
      'record is a central service of us-east: keep media in eu-west and branch to it.',
      'eu-west-media-2 chosen from 2 relay(s) in eu-west (load 0.2); it can record too, so a local copy is kept until the upload is confirmed.',
      "Branch tunnels to us-east's central media service over a 40 ms link.",
    ]);
  });

  it('prefers a relay that can also store over a less loaded one that cannot', () => {
    const nodes = [node('eu-a', 'eu-west', ['relay'], { load: 0 }), node('eu-b', 'eu-west', ['relay', 'record'], { load: 0.7 })];
    const d = choosePlacement(input({ capability: 'record', nodes }));
    expect(d).toMatchObject({ outcome: 'local-with-branch', nodeId: 'eu-b', storeLocally: true });
  });

  it('still branches when no local relay can store, and says the branch is the only copy', () => {
    const nodes = [node('eu-a', 'eu-west', ['relay'], { load: 0.2 }), node('us-a', 'us-east', ['relay', 'record'], { load: 0 })];
    const d = choosePlacement(input({ capability: 'record', nodes }));
    expect(d).toMatchObject({ outcome: 'local-with-branch', nodeId: 'eu-a', storeLocally: false });
    expect(d.reasons.at(-2)).toMatch(/none there can record, so the branch is the only copy\.$/);
  });

  it('branches within the region when the media is already home', () => {
    const d = choosePlacement(input({ mediaRegion: US, capability: 'record' }));
    expect(d).toMatchObject({ outcome: 'local-with-branch', nodeId: 'us-east-media-2', branchTo: { region: 'us-east', delayMs: 0 } });
    expect(d.reasons.at(-1)).toBe("Branch goes to us-east's central media service in the same region.");
  });

  it('is not used for a capability the home region does not serve centrally', () => {
    expect(choosePlacement(input({ capability: 'record', centralServices: [] }))).toMatchObject({ outcome: 'local', nodeId: 'eu-west-media-2' });
  });

  it('falls back to the media-resource rules when no local relay is usable', () => {
    const nodes = [node('eu-a', 'eu-west', ['relay'], { healthy: false }), node('ap-a', 'ap-south', ['relay', 'record'], { load: 0.1 })];
    const d = choosePlacement(input({ capability: 'record', nodes }));
    expect(d).toMatchObject({ outcome: 'remote', nodeId: 'ap-a', delayMs: 60 });
    expect(d.reasons).toContain('record is a central service of us-east, but no usable relay in eu-west can fork a branch; placing as a media resource.');
  });

  it('falls back when no link reaches the home region', () => {
    const links = { 'eu-west': { 'ap-south': 60 } };
    const d = choosePlacement(input({ capability: 'record', linkDelaysMs: links }));
    expect(d).toMatchObject({ outcome: 'local', nodeId: 'eu-west-media-2' });
    expect(d.reasons).toContain('record is a central service of us-east, but no link from eu-west reaches it; placing as a media resource.');
  });
});

describe('choosePlacement: unavailable', () => {
  it('when no node has the capability', () => {
    const d = choosePlacement(input({ capability: 'transcode', nodes: defaultNodes().filter((n) => n.region !== 'us-east') }));
    expect(d.outcome).toBe('unavailable');
    expect(placedNode(d)).toBeUndefined();
    expect(d.score.chosen).toBeNull();
    expect(d.reasons.at(-1)).toBe('Unavailable: no healthy node below full load has transcode.');
  });

  it('when every node with it is unhealthy or full', () => {
    const nodes = [node('us-1', 'us-east', ['transcode'], { healthy: false }), node('us-2', 'us-east', ['transcode'], { load: 1 })];
    const d = choosePlacement(input({ capability: 'transcode', nodes }));
    expect(d.outcome).toBe('unavailable');
    expect(d.score).toMatchObject({ skippedUnhealthy: 1, skippedFull: 1 });
    expect(d.reasons).toContain('Skipped 1 unhealthy and 1 full node(s).');
  });

  it('when the capability exists only beyond missing links', () => {
    const d = choosePlacement(input({ mediaRegion: AP, capability: 'transcode', linkDelaysMs: {} }));
    expect(d.outcome).toBe('unavailable');
    expect(d.reasons.at(-1)).toBe('Unavailable: transcode exists only on 1 node(s) in regions with no link from ap-south.');
  });

  it('with no nodes at all', () => {
    expect(choosePlacement(input({ nodes: [] }))).toMatchObject({ outcome: 'unavailable', score: { nodesTotal: 0 } });
  });
});

describe('choosePlacement: health', () => {
  it('ignores unhealthy nodes however idle they are', () => {
    const nodes = [node('eu-idle', 'eu-west', ['play'], { load: 0, healthy: false }), node('eu-busy', 'eu-west', ['play'], { load: 0.9 })];
    const d = choosePlacement(input({ nodes }));
    expect(d).toMatchObject({ outcome: 'local', nodeId: 'eu-busy', score: { skippedUnhealthy: 1, localCandidates: 1 } });
    expect(d.score.runnersUp).toEqual([]);
  });

  it('goes remote when every local node is unhealthy', () => {
    const nodes = defaultNodes().map((n) => (n.region === 'eu-west' ? { ...n, healthy: false } : n));
    expect(choosePlacement(input({ nodes }))).toMatchObject({ outcome: 'remote', region: 'us-east', nodeId: 'us-east-media-2' });
  });

  it('skips nodes at full load', () => {
    const nodes = [node('eu-full', 'eu-west', ['play'], { load: 1 }), node('eu-ok', 'eu-west', ['play'], { load: 0.99 })];
    expect(choosePlacement(input({ nodes }))).toMatchObject({ nodeId: 'eu-ok', score: { skippedFull: 1 } });
  });
});

describe('choosePlacement: determinism', () => {
  /** Deterministic shuffle (mulberry32), so a failure reproduces. */
  function shuffled<T>(xs: readonly T[], seed: number): T[] {
    let s = seed;
    const rnd = (): number => {
      s = (s + 0x6d2b79f5) | 0;
      let t = Math.imul(s ^ (s >>> 15), 1 | s);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const out = [...xs];
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(rnd() * (i + 1));
      [out[i], out[j]] = [out[j] as T, out[i] as T];
    }
    return out;
  }

  const tied = [
    ...defaultNodes(),
    node('eu-west-media-3', 'eu-west', BASIC, { load: 0.2 }),
    node('us-east-media-3', 'us-east', ['transcode'], { load: 0.3 }),
  ];

  it('gives the same decision for every order of the nodes', () => {
    for (const capability of ['relay', 'play', 'record', 'transcode', 'conference'] as const) {
      for (const mediaRegion of [US, EU, AP]) {
        const first = choosePlacement(input({ capability, mediaRegion, nodes: tied }));
        for (let seed = 1; seed <= 20; seed++) {
          expect(choosePlacement(input({ capability, mediaRegion, nodes: shuffled(tied, seed) }))).toEqual(first);
        }
      }
    }
  });

  it('stays order-independent even with a duplicate id in two regions at equal delay', () => {
    const links = { 'ap-south': { 'us-east': 50, 'eu-west': 50 } };
    const dup = [node('x', 'us-east', ['transcode'], { load: 0.2 }), node('x', 'eu-west', ['transcode'], { load: 0.2 })];
    const a = choosePlacement(input({ mediaRegion: AP, capability: 'transcode', nodes: dup, linkDelaysMs: links }));
    const b = choosePlacement(input({ mediaRegion: AP, capability: 'transcode', nodes: [...dup].reverse(), linkDelaysMs: links }));
    expect(a).toEqual(b);
    expect(a).toMatchObject({ outcome: 'remote', nodeId: 'x', region: 'eu-west' });
  });

  it('does not modify its input', () => {
    const deepFreeze = <T>(o: T): T => {
      if (typeof o === 'object' && o !== null) {
        for (const v of Object.values(o)) deepFreeze(v);
        Object.freeze(o);
      }
      return o;
    };
    const frozen = deepFreeze(input({ capability: 'record', nodes: tied }));
    const copy = structuredClone(frozen);
    expect(() => choosePlacement(frozen)).not.toThrow();
    expect(frozen).toEqual(copy);
  });

  it('returns JSON-serialisable decisions', () => {
    const d = choosePlacement(input({ capability: 'record' }));
    expect(JSON.parse(JSON.stringify(d))).toEqual(d);
  });
});

describe('choosePlacement: rejected candidates', () => {
  it('lists every node set aside with its reason, and the counts', () => {
    const nodes = [
      ...defaultNodes(),
      node('eu-west-media-3', 'eu-west', ['relay', 'transcode'], { healthy: false }),
      node('eu-west-media-4', 'eu-west', ['relay', 'transcode'], { load: 1 }),
      node('mars-media-1', 'mars', ['relay', 'transcode'], { load: 0 }),
    ];
    const d = choosePlacement(input({ capability: 'transcode', nodes }));
    expect(d.outcome).toBe('remote');
    expect(placedNode(d)).toEqual({ nodeId: 'us-east-media-2', region: 'us-east' });
    expect(d.score.lackingCapability).toBe(5);
    expect(d.score.rejected).toEqual([
      { nodeId: 'ap-south-media-1', region: 'ap-south', reason: 'lacks-capability' },
      { nodeId: 'ap-south-media-2', region: 'ap-south', reason: 'lacks-capability' },
      { nodeId: 'eu-west-media-1', region: 'eu-west', reason: 'lacks-capability' },
      { nodeId: 'eu-west-media-2', region: 'eu-west', reason: 'lacks-capability' },
      { nodeId: 'eu-west-media-3', region: 'eu-west', reason: 'unhealthy' },
      { nodeId: 'eu-west-media-4', region: 'eu-west', reason: 'full' },
      { nodeId: 'mars-media-1', region: 'mars', reason: 'no-link' },
      { nodeId: 'us-east-media-1', region: 'us-east', reason: 'lacks-capability' },
    ]);
    // The candidates considered: the chosen one and the runners-up of the deciding rule.
    expect(d.score.chosen?.nodeId).toBe('us-east-media-2');
    expect(d.score.runnersUp).toEqual([]);
  });

  it('keeps the lowest ids only, whatever the input order', () => {
    const many = Array.from({ length: 40 }, (_, i) => node(`n-${String(i).padStart(2, '0')}`, 'eu-west', ['relay'], { load: 0.1 }));
    const a = choosePlacement(input({ capability: 'conference', nodes: many }));
    const b = choosePlacement(input({ capability: 'conference', nodes: [...many].reverse() }));
    expect(a.outcome).toBe('unavailable');
    expect(a.score.lackingCapability).toBe(40);
    expect(a.score.rejected.map((r) => r.nodeId)).toEqual(['n-00', 'n-01', 'n-02', 'n-03', 'n-04', 'n-05', 'n-06', 'n-07']);
    expect(b).toEqual(a);
  });

  it('a relay in the media region is no rejection when the capability is a central service', () => {
    const nodes = [node('eu-relay', 'eu-west', ['relay']), node('us-relay', 'us-east', ['relay'])];
    const d = choosePlacement(input({ capability: 'record', nodes }));
    expect(d.outcome).toBe('local-with-branch');
    expect(d.score.rejected).toEqual([{ nodeId: 'us-relay', region: 'us-east', reason: 'lacks-capability' }]);
  });
});
