/**
 * The mesh.proto codec (regions/proto/codec.ts). Lives under link/ because the
 * link is its one consumer. Every message is encoded with every field set to a
 * non-default value, so a field missing from either the .proto or types.ts
 * fails the round trip.
 */
import { describe, expect, it } from 'vitest';
import { isMeshError } from '../../../../regions/core/errors.js';
import { decodeEnvelope, encodeEnvelope } from '../../../../regions/proto/codec.js';
import { findMeshProto, meshType } from '../../../../regions/proto/schema.js';
import { BODY_TYPES, type BodyTypes, type EnvelopeBody } from '../../../../regions/proto/types.js';

const FULL: BodyTypes = {
  placementRequest: { callSid: 'CA1', mediaRegion: 'eu-west', homeRegion: 'us-east', capability: 'record', leg: 'a', excludeNodeIds: ['n1', 'n2'] },
  placementDecision: {
    callSid: 'CA1',
    kind: 'CENTRAL_BRANCH',
    capability: 'record',
    nodeId: 'eu-west-media-1',
    region: 'eu-west',
    centralServiceId: 'us-east-central-1',
    linkDelayMs: 40,
    trace: [
      { rule: 'local-capability', matched: false, detail: 'no eu-west node records' },
      { rule: 'central-service', matched: true, detail: 'us-east stores recordings' },
    ],
    decidedAtMs: 1_700_000_000_123,
  },
  nodeAnnouncement: {
    nodeId: 'eu-west-media-2',
    service: 'media',
    region: 'eu-west',
    address: '127.0.2.12',
    port: 22222,
    capabilities: ['relay', 'play'],
    load: 0.25,
    state: 'DRAINING',
    meta: { ngPort: '22222' },
  },
  callEvent: { callSid: 'CA2', callId: 'abc@host', edgeRegion: 'eu-west', homeRegion: 'us-east', type: 'REANCHORED', atMs: 1_700_000_000_999, attributes: { from: 'n1', to: 'n2' } },
  branchSetup: {
    branchId: 'BR1',
    callSid: 'CA3',
    edgeRegion: 'eu-west',
    homeRegion: 'us-east',
    sourceNodeId: 'eu-west-media-1',
    codec: 'PCMU',
    payloadType: 0,
    clockRate: 8000,
    channels: 1,
    storeLocally: true,
    metadata: { tenant: 'AC1' },
  },
  branchAck: { branchId: 'BR1', status: 'STORED', receiveAddress: '127.0.1.30', receivePort: 40000, checksumSha256: 'ab'.repeat(32), bytes: 2 ** 40, error: 'none', uploadUrl: 'http://127.0.1.30:8090' },
  heartbeat: { nodeId: 'n', region: 'ap-south', seq: 2 ** 33, load: 0.5 },
  linkHello: { region: 'us-east', nodeId: 'us-east-sig-1', protocolVersion: 1 },
  errorReply: { code: 'NOT_FOUND', message: 'no such call' },
};

describe('mesh codec', () => {
  it('finds the schema file', () => {
    expect(findMeshProto()).toMatch(/regions\/proto\/mesh\.proto$/);
  });

  it.each(BODY_TYPES)('round-trips a %s with every field set', (type) => {
    const body = { type, value: FULL[type] } as EnvelopeBody;
    const bytes = encodeEnvelope({ kind: 'REQUEST', requestId: 'req-1', sentAtMs: 1_700_000_000_000, replyTo: 'req-0', body });
    expect(decodeEnvelope(bytes)).toEqual({ requestId: 'req-1', kind: 'REQUEST', sentAtMs: 1_700_000_000_000, replyTo: 'req-0', body });
  });

  it('types.ts names every field of every message in mesh.proto', () => {
    const messageOf: Record<string, string> = {
      placementRequest: 'PlacementRequest',
      placementDecision: 'PlacementDecision',
      nodeAnnouncement: 'NodeAnnouncement',
      callEvent: 'CallEvent',
      branchSetup: 'BranchSetup',
      branchAck: 'BranchAck',
      heartbeat: 'Heartbeat',
      linkHello: 'LinkHello',
      errorReply: 'ErrorReply',
    };
    for (const t of BODY_TYPES) {
      const protoFields = meshType(messageOf[t] ?? '').fieldsArray.map((f) => f.name).sort();
      expect([t, Object.keys(FULL[t]).sort()]).toEqual([t, protoFields]);
    }
    const oneof = meshType('Envelope').oneofs['body']?.fieldsArray.map((f) => f.name).sort();
    expect(oneof).toEqual([...BODY_TYPES].sort());
  });

  it('fills proto3 defaults for fields left out', () => {
    const env = decodeEnvelope(encodeEnvelope({ kind: 'EVENT', body: { type: 'callEvent', value: { callSid: 'CA9' } } }));
    expect(env.body).toEqual({
      type: 'callEvent',
      value: { callSid: 'CA9', callId: '', edgeRegion: '', homeRegion: '', type: 'TYPE_UNSPECIFIED', atMs: 0, attributes: {} },
    });
    expect(env.requestId).toBe('');
    expect(env.sentAtMs).toBeGreaterThan(0);
  });

  it('refuses an unknown enum name instead of sending it as UNSPECIFIED', () => {
    expect(() =>
      encodeEnvelope({ kind: 'EVENT', body: { type: 'branchAck', value: { status: 'STORD' as never } } }),
    ).toThrow(/branchAck\.status: unknown enum value STORD/);
    expect(() =>
      encodeEnvelope({ kind: 'EVENT', body: { type: 'placementDecision', value: { trace: [{ rule: 'x', matched: true, detail: '' }], kind: 'NEAR' as never } } }),
    ).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
  });

  it('bounds message size on decode (before parsing) and on encode', () => {
    const big = encodeEnvelope({ kind: 'EVENT', body: { type: 'errorReply', value: { code: 'X', message: 'y'.repeat(2000) } } });
    expect(() => decodeEnvelope(big, { maxBytes: 1000 })).toThrow(expect.objectContaining({ code: 'TOO_LARGE' }));
    expect(() =>
      encodeEnvelope({ kind: 'EVENT', body: { type: 'errorReply', value: { code: 'X', message: 'y'.repeat(2000) } } }, { maxBytes: 1000 }),
    ).toThrow(expect.objectContaining({ code: 'TOO_LARGE' }));
    expect(decodeEnvelope(big, { maxBytes: big.length }).body.type).toBe('errorReply');
  });

  it('turns garbage and body-less envelopes into BAD_REQUEST', () => {
    for (const bad of [Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff]), Buffer.from([0x0a, 0x10, 0x41])]) {
      let err: unknown;
      try {
        decodeEnvelope(bad);
      } catch (e) {
        err = e;
      }
      expect(isMeshError(err, 'BAD_REQUEST')).toBe(true);
    }
    // A valid Envelope without body (e.g. a newer peer's unknown body type).
    const noBody = meshType('Envelope').encode(meshType('Envelope').fromObject({ requestId: 'r', kind: 1 })).finish();
    expect(() => decodeEnvelope(noBody)).toThrow(/no body/);
  });
});
