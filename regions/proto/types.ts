/**
 * TypeScript shapes of the messages in mesh.proto (camelCase field names, as
 * protobufjs maps them). Kept by hand beside the schema: the codec's round-trip
 * test encodes every field of every message, so a field missing on either side
 * shows up as a test failure, not as silently dropped data.
 *
 * 64-bit integers are plain numbers (ms timestamps and counters stay far below
 * 2^53). Enums are their names as strings.
 */

export interface PlacementRequest {
  callSid: string;
  mediaRegion: string;
  homeRegion: string;
  capability: string;
  leg: string;
  excludeNodeIds: string[];
}

export interface PlacementTraceStep {
  rule: string;
  matched: boolean;
  detail: string;
}

export type PlacementKind = 'KIND_UNSPECIFIED' | 'LOCAL' | 'REMOTE' | 'CENTRAL_BRANCH' | 'REJECTED';

export interface PlacementDecision {
  callSid: string;
  kind: PlacementKind;
  capability: string;
  nodeId: string;
  region: string;
  centralServiceId: string;
  linkDelayMs: number;
  trace: PlacementTraceStep[];
  decidedAtMs: number;
}

export type NodeState = 'STATE_UNSPECIFIED' | 'UP' | 'DRAINING' | 'DOWN';

export interface NodeAnnouncement {
  nodeId: string;
  service: string;
  region: string;
  address: string;
  port: number;
  capabilities: string[];
  load: number;
  state: NodeState;
  meta: Record<string, string>;
}

export type CallEventType =
  | 'TYPE_UNSPECIFIED'
  | 'INITIATED'
  | 'RINGING'
  | 'ANSWERED'
  | 'COMPLETED'
  | 'FAILED'
  | 'REANCHORED'
  | 'PLACED';

export interface CallEvent {
  callSid: string;
  callId: string;
  edgeRegion: string;
  homeRegion: string;
  type: CallEventType;
  atMs: number;
  attributes: Record<string, string>;
}

export interface BranchSetup {
  branchId: string;
  callSid: string;
  edgeRegion: string;
  homeRegion: string;
  sourceNodeId: string;
  codec: string;
  payloadType: number;
  clockRate: number;
  channels: number;
  storeLocally: boolean;
  metadata: Record<string, string>;
}

export type BranchAckStatus = 'STATUS_UNSPECIFIED' | 'ACCEPTED' | 'REJECTED' | 'STORED';

export interface BranchAck {
  branchId: string;
  status: BranchAckStatus;
  receiveAddress: string;
  receivePort: number;
  checksumSha256: string;
  bytes: number;
  error: string;
  /** ACCEPTED: base URL of the central service's HTTP upload endpoint for the edge's local copy. */
  uploadUrl: string;
}

export interface LinkHello {
  region: string;
  nodeId: string;
  protocolVersion: number;
}

export interface Heartbeat {
  nodeId: string;
  region: string;
  seq: number;
  load: number;
}

export interface ErrorReply {
  /** A MeshError code (regions/core/errors.ts). */
  code: string;
  message: string;
}

/** Every message an Envelope can carry, by its oneof field name. */
export interface BodyTypes {
  placementRequest: PlacementRequest;
  placementDecision: PlacementDecision;
  nodeAnnouncement: NodeAnnouncement;
  callEvent: CallEvent;
  branchSetup: BranchSetup;
  branchAck: BranchAck;
  heartbeat: Heartbeat;
  linkHello: LinkHello;
  errorReply: ErrorReply;
}

export type BodyType = keyof BodyTypes;

/** The envelope's oneof body as a discriminated union: `{ type: 'callEvent', value: {...} }`. */
export type EnvelopeBody = { [K in BodyType]: { type: K; value: BodyTypes[K] } }[BodyType];

/** A body as callers write it: fields left out take their proto3 defaults. */
export type EnvelopeBodyInput = { [K in BodyType]: { type: K; value: Partial<BodyTypes[K]> } }[BodyType];

export type EnvelopeKind = 'KIND_UNSPECIFIED' | 'REQUEST' | 'REPLY' | 'EVENT';

export interface Envelope {
  requestId: string;
  kind: EnvelopeKind;
  sentAtMs: number;
  /** For a REPLY: the requestId it answers; empty otherwise. */
  replyTo: string;
  body: EnvelopeBody;
}

export interface EnvelopeInput {
  requestId?: string;
  kind: EnvelopeKind;
  sentAtMs?: number;
  replyTo?: string;
  body: EnvelopeBodyInput;
}

export const BODY_TYPES: readonly BodyType[] = [
  'placementRequest',
  'placementDecision',
  'nodeAnnouncement',
  'callEvent',
  'branchSetup',
  'branchAck',
  'heartbeat',
  'linkHello',
  'errorReply',
];
