import { describe, expect, it } from 'vitest';
import type { ClientRegistration } from '../../../../regions/store/client-registrations.js';
import { clientBranchTargets, offerWebrtc } from '../../../../signaling/calls/client-branches.js';
import { statusOfBranches } from '../../../../signaling/calls/outbound-leg.js';
import { parseClientBinding } from '../../../../signaling/clients/mesh-delivery.js';

const ACCOUNT = 'AC' + '0'.repeat(32);

function reg(over: Partial<ClientRegistration>): ClientRegistration {
  return {
    accountSid: ACCOUNT,
    identity: 'alice',
    bindingId: 'b'.repeat(32),
    contact: 'sip:k1@x.invalid;transport=ws',
    region: 'us-east',
    nodeId: 'us-sig',
    transport: 'WS',
    webrtc: false,
    connection: { address: '127.0.0.9', port: 40000 },
    owner: 'us-sig/WS:127.0.0.9:40000',
    callId: 'c',
    cseq: 1,
    registeredAtMs: 0,
    expiresAtMs: Date.now() + 60_000,
    ...over,
  };
}

const CTX = { region: 'us-east', nodeId: 'us-sig', signalingUri: (r: string) => (r === 'eu-west' ? 'sip:127.0.2.1:5060' : undefined) };

describe('clientBranchTargets', () => {
  it('reaches a registration on this node over its connection, with its Contact as Request-URI', () => {
    const { targets, skipped } = clientBranchTargets([reg({})], CTX, { callSid: 'CA1', mediaNodeId: 'm1', parameters: [{ name: 'a', value: '1 2' }] });
    expect(skipped).toEqual([]);
    expect(targets).toEqual([{
      dest: { transport: 'WS', address: '127.0.0.9', port: 40000 },
      ruri: 'sip:k1@x.invalid;transport=ws',
      headers: [['X-Mesh-Call-Sid', 'CA1'], ['X-Mesh-Client-Params', 'a=1%202']],
      bindingId: 'b'.repeat(32),
      region: 'us-east',
      local: true,
      webrtc: false,
    }]);
  });

  it('sends one in another region through that region\'s signaling node with the mesh headers', () => {
    const { targets } = clientBranchTargets([reg({ region: 'eu-west', nodeId: 'eu-sig', identity: 'al;ice' })], CTX, { callSid: 'CA1', mediaNodeId: 'm1' });
    const [t] = targets;
    expect(t).toMatchObject({ dest: { transport: 'UDP', address: '127.0.2.1', port: 5060 }, ruri: 'sip:client-al%3Bice@127.0.2.1:5060', local: false });
    const h = new Map(t!.headers);
    expect(h.get('X-Mesh-Edge-Region')).toBe('us-east');
    expect(h.get('X-Mesh-Media-Node')).toBe('m1');
    expect(h.get('X-Mesh-Call-Sid')).toBe('CA1');
    expect(parseClientBinding(h.get('X-Mesh-Client-Binding')!)).toEqual({ accountSid: ACCOUNT, identity: 'al;ice', bindingId: 'b'.repeat(32) });
    expect(h.has('X-Mesh-Client-Params')).toBe(false);
  });

  it('skips registrations on another node of this region and in regions without a known node', () => {
    const { targets, skipped } = clientBranchTargets([reg({ nodeId: 'us-sig-old' }), reg({ region: 'ap-south', nodeId: 'ap-sig' })], CTX, { callSid: 'CA1', mediaNodeId: 'm1' });
    expect(targets).toEqual([]);
    expect(skipped.map((s) => s.region)).toEqual(['us-east', 'ap-south']);
  });
});

describe('offerWebrtc (one offer for every branch)', () => {
  it('is WebRTC only when every registration rung did +sip.ice, here or in another region', () => {
    const both = clientBranchTargets([reg({ webrtc: true }), reg({ webrtc: true, region: 'eu-west', nodeId: 'eu-sig' })], CTX, { callSid: 'CA1', mediaNodeId: 'm1' }).targets;
    expect(both.map((t) => t.webrtc)).toEqual([true, true]);
    expect(offerWebrtc(both)).toBe(true);
    const mixed = clientBranchTargets([reg({ webrtc: true }), reg({ bindingId: 'c'.repeat(32) })], CTX, { callSid: 'CA1', mediaNodeId: 'm1' }).targets;
    expect(offerWebrtc(mixed)).toBe(false);
    expect(offerWebrtc([])).toBe(false);
  });
});

describe('statusOfBranches', () => {
  it('one shared outcome is the call\'s; else no-answer over busy over failed', () => {
    expect(statusOfBranches([486])).toEqual({ status: 'busy', sipStatus: 486 });
    expect(statusOfBranches([480, 408])).toEqual({ status: 'no-answer', sipStatus: 480 });
    expect(statusOfBranches([486, 487])).toEqual({ status: 'no-answer', sipStatus: 487 });
    expect(statusOfBranches([503, 486])).toEqual({ status: 'busy', sipStatus: 486 });
    expect(statusOfBranches([503, 404])).toEqual({ status: 'failed', sipStatus: 503 });
    expect(statusOfBranches([])).toEqual({ status: 'failed', sipStatus: undefined });
  });
});
