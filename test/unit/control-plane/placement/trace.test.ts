import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { choosePlacement, PlacementTrace, placementTraceEntry, summarisePlacementInput } from '../../../../control-plane/placement/index.js';
import type { PlacementInput } from '../../../../control-plane/placement/index.js';
import { asNodeId, asRegionId } from '../../../../regions/core/ids.js';

const input = (capability: PlacementInput['capability'] = 'play'): PlacementInput => ({
  mediaRegion: asRegionId('eu-west'),
  homeRegion: asRegionId('us-east'),
  capability,
  nodes: [
    { id: asNodeId('eu-1'), region: asRegionId('eu-west'), capabilities: ['relay', 'play', 'record'], healthy: true, load: 0.1 },
    { id: asNodeId('eu-2'), region: asRegionId('eu-west'), capabilities: ['relay'], healthy: false },
  ],
  linkDelaysMs: { 'eu-west': { 'us-east': 40 }, 'us-east': { 'eu-west': 40 } },
  centralServices: ['record'],
});

describe('PlacementTrace', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date('2026-01-02T03:04:05.000Z'));
  });
  afterEach(() => vi.useRealTimers());

  it('records decisions per call with a timestamp, a sequence number and an input summary', () => {
    const trace = new PlacementTrace();
    const i1 = input('play');
    const e1 = trace.record('CA1', i1, choosePlacement(i1));
    vi.advanceTimersByTime(1500);
    const i2 = input('record');
    trace.record('CA1', i2, choosePlacement(i2));
    trace.record('CA2', i1, choosePlacement(i1));

    expect(e1).toMatchObject({ seq: 1, at: '2026-01-02T03:04:05.000Z', atMs: Date.parse('2026-01-02T03:04:05.000Z') });
    expect(e1.input).toEqual({
      mediaRegion: 'eu-west',
      homeRegion: 'us-east',
      capability: 'play',
      centralServices: ['record'],
      nodesTotal: 2,
      nodesHealthy: 1,
    });
    const t = trace.get('CA1');
    expect(t?.dropped).toBe(0);
    expect(t?.entries.map((e) => [e.seq, e.at, e.decision.outcome])).toEqual([
      [1, '2026-01-02T03:04:05.000Z', 'local'],
      [2, '2026-01-02T03:04:06.500Z', 'local-with-branch'],
    ]);
    expect(trace.get('CA2')?.entries).toHaveLength(1);
    expect(trace.get('CA3')).toBeUndefined();
    expect(trace.size).toBe(2);
  });

  it('keeps the latest entries of a call and counts the dropped ones', () => {
    const trace = new PlacementTrace({ maxEntriesPerCall: 3 });
    const i = input();
    for (let k = 0; k < 5; k++) trace.record('CA1', i, choosePlacement(i));
    const t = trace.get('CA1');
    expect(t?.dropped).toBe(2);
    expect(t?.entries.map((e) => e.seq)).toEqual([3, 4, 5]);
  });

  it('forgets the oldest call beyond maxCalls, and on request', () => {
    const trace = new PlacementTrace({ maxCalls: 2 });
    const i = input();
    const d = choosePlacement(i);
    trace.record('CA1', i, d);
    trace.record('CA2', i, d);
    trace.record('CA1', i, d); // an existing call does not evict
    expect(trace.size).toBe(2);
    trace.record('CA3', i, d);
    expect(trace.get('CA1')).toBeUndefined();
    expect(trace.get('CA2')).toBeDefined();
    expect(trace.forget('CA2')).toBe(true);
    expect(trace.forget('CA2')).toBe(false);
    expect(trace.size).toBe(1);
  });

  it('serialises to JSON and back without loss', () => {
    const trace = new PlacementTrace({ now: () => 1_000 });
    const i = input('record');
    trace.record('CA9', i, choosePlacement(i));
    const json = JSON.parse(JSON.stringify(trace));
    expect(json).toEqual([
      {
        callSid: 'CA9',
        dropped: 0,
        entries: [expect.objectContaining({ seq: 1, at: '1970-01-01T00:00:01.000Z', atMs: 1000 })],
      },
    ]);
    expect(json[0].entries[0].decision).toEqual(choosePlacement(i));
    expect(json[0].entries[0].decision.reasons.length).toBeGreaterThan(2);
  });

  it('returns copies, so a caller cannot change the stored trace', () => {
    const trace = new PlacementTrace();
    const i = input();
    trace.record('CA1', i, choosePlacement(i));
    (trace.get('CA1')!.entries as unknown[]).length = 0;
    expect(trace.get('CA1')?.entries).toHaveLength(1);
  });

  it('rejects bad bounds', () => {
    expect(() => new PlacementTrace({ maxEntriesPerCall: 0 })).toThrowError(/maxEntriesPerCall must be an integer ≥ 1/);
    expect(() => new PlacementTrace({ maxCalls: 1.5 })).toThrowError(/maxCalls must be an integer ≥ 1/);
  });

  it('builds a stand-alone entry for direct storage', () => {
    const i = input();
    const e = placementTraceEntry(7, 0, i, choosePlacement(i));
    expect(e).toMatchObject({ seq: 7, at: '1970-01-01T00:00:00.000Z', input: summarisePlacementInput(i) });
  });

  it('says the kind and the chosen node and region of each decision', () => {
    const at = (i: PlacementInput) => placementTraceEntry(1, 0, i, choosePlacement(i));
    const local = at(input('play'));
    expect(local).toMatchObject({ kind: 'local', chosen: { nodeId: 'eu-1', region: 'eu-west' } });
    expect(local.decision.score.rejected).toEqual([{ nodeId: 'eu-2', region: 'eu-west', reason: 'lacks-capability' }]);
    expect(at(input('record'))).toMatchObject({ kind: 'central', chosen: { nodeId: 'eu-1', region: 'eu-west' } });
    const remote = at({ ...input('play'), nodes: [{ id: asNodeId('us-1'), region: asRegionId('us-east'), capabilities: ['play'], healthy: true }] });
    expect(remote).toMatchObject({ kind: 'remote', chosen: { nodeId: 'us-1', region: 'us-east' } });
    expect(at({ ...input('transcode') })).toMatchObject({ kind: 'unavailable', chosen: null });
    expect(JSON.parse(JSON.stringify(local))).toEqual(local);
  });
});
