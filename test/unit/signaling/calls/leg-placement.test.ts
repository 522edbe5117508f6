import { describe, expect, it } from 'vitest';
import { asNodeId, asRegionId } from '../../../../regions/core/ids.js';
import type { MediaCapability, PlacementDecision } from '../../../../regions/placement/types.js';
import type { LegMediaOps } from '../../../../signaling/calls/platform-leg.js';
import { withLegPlacement } from '../../../../signaling/calls/leg-placement.js';

const score = { nodesTotal: 1, skippedUnhealthy: 0, skippedFull: 0, localCandidates: 1, remoteCandidates: 0, unreachable: 0, chosen: null, runnersUp: [], lackingCapability: 0, rejected: [] };
const base = (capability: MediaCapability) => ({ capability, mediaRegion: asRegionId('eu-west'), homeRegion: asRegionId('us-east'), reasons: [`asked ${capability}`], score });
const local = (capability: MediaCapability, node = 'n1'): PlacementDecision => ({ ...base(capability), outcome: 'local', nodeId: asNodeId(node), region: asRegionId('eu-west') });
const remote = (capability: MediaCapability): PlacementDecision => ({ ...base(capability), outcome: 'remote', nodeId: asNodeId('far-1'), region: asRegionId('us-east'), delayMs: 40 });
const none = (capability: MediaCapability): PlacementDecision => ({ ...base(capability), outcome: 'unavailable' });

function fakeOps(calls: string[]): LegMediaOps {
  return {
    play: async (file) => void calls.push(`play ${file}`),
    sendDigits: async (d) => void calls.push(`digits ${d}`),
    onDigit: () => {
      calls.push('onDigit');
      return () => undefined;
    },
    startRecording: async () => {
      calls.push('record');
      return { stop: async () => ({ path: '/x.wav', durationMs: 0, bytes: 0 }) } as never;
    },
    mediaEndpoint: () => ({ address: '127.0.0.1', port: 4000 }),
    connectMedia: async (peer) => void calls.push(`connect ${peer === undefined ? 'discard' : peer.port}`),
  };
}

describe('withLegPlacement: each media need of a leg asks the placement policy', () => {
  it('asks once per capability and runs the operation when the policy keeps it on the leg’s node', async () => {
    const asked: MediaCapability[] = [];
    const calls: string[] = [];
    const leg = withLegPlacement(fakeOps(calls), 'n1', (c) => (asked.push(c), local(c)));
    await leg.play('/a.wav', 10);
    await leg.play('/b.wav', 10);
    leg.onDigit(() => undefined);
    await leg.startRecording();
    await leg.connectMedia({ address: '127.0.0.1', port: 5000 });
    await leg.connectMedia(undefined); // unbridging needs nothing new
    await leg.sendDigits('12');
    expect(asked).toEqual(['play', 'relay', 'record']);
    expect(calls).toEqual(['play /a.wav', 'play /b.wav', 'onDigit', 'record', 'connect 5000', 'connect discard', 'digits 12']);
  });

  it('refuses, with the policy’s answer in the message, a need the leg’s node does not serve; other needs still run', async () => {
    const calls: string[] = [];
    const leg = withLegPlacement(fakeOps(calls), 'n1', (c) => (c === 'record' ? remote(c) : c === 'play' ? local(c, 'n2') : local(c)));
    await expect(leg.startRecording()).rejects.toThrow(/record is not served by n1.*far-1 \(remote, us-east\)/);
    await expect(leg.play('/a.wav', 10)).rejects.toThrow(/play is not served by n1.*n2 \(local, eu-west\)/);
    // The answer is kept: a second try is refused the same way, without asking again.
    await expect(leg.startRecording()).rejects.toThrow(/record is not served/);
    leg.onDigit(() => undefined);
    expect(calls).toEqual(['onDigit']);
  });

  it('says when no node serves a need at all', async () => {
    const leg = withLegPlacement(fakeOps([]), 'n1', (c) => none(c));
    await expect(leg.play('/a.wav', 10)).rejects.toThrow(/no media node serves play for this call: asked play/);
    expect(() => leg.onDigit(() => undefined)).toThrow(/no media node serves relay/);
  });
});
