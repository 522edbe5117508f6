/**
 * Types of the media placement policy (DESIGN.md "One call, end to end",
 * step 6): what it is asked, and what it answers. The policy itself is
 * control-plane/placement; the types live here because media/ builds the
 * nodes it is asked about (media/nodes) and may import only regions/.
 */
import type { NodeId, RegionId } from '../core/ids.js';
import type { LinkDelayMatrix, MediaCapability } from '../catalog.js';

export type { LinkDelayMatrix, MediaCapability } from '../catalog.js';

/** A media node as discovery reports it. */
export interface PlacementNode {
  readonly id: NodeId;
  readonly region: RegionId;
  readonly capabilities: readonly MediaCapability[];
  /** False when discovery's TTL check failed; such nodes are never chosen. */
  readonly healthy: boolean;
  /**
   * Load as a fraction 0..1 (1 = full: the node is skipped). Optional when
   * `sessions` is given; a node reporting no load ranks after those that do.
   */
  readonly load?: number;
  /** Active sessions; the second ranking key, after `load`. */
  readonly sessions?: number;
}

export interface PlacementInput {
  /** Region where the call's RTP currently flows (the edge, for an inbound call). */
  readonly mediaRegion: RegionId;
  /** Tenant's home region, where the call is anchored. */
  readonly homeRegion: RegionId;
  /** What the next instruction needs. */
  readonly capability: MediaCapability;
  /** Every registered media node; unhealthy or full ones are skipped here, not by the caller. */
  readonly nodes: readonly PlacementNode[];
  /** One-way link delays in ms, `linkDelaysMs[from][to]`. */
  readonly linkDelaysMs: LinkDelayMatrix;
  /** Capabilities the home region serves centrally (e.g. record → recording store). */
  readonly centralServices: readonly MediaCapability[];
}

/** How a candidate scored; the chosen node and the runners-up are reported with these. */
export interface CandidateScore {
  readonly nodeId: NodeId;
  readonly region: RegionId;
  /** One-way delay from the media region to the node's region, ms (0 when local). */
  readonly delayMs: number;
  readonly load: number | null;
  readonly sessions: number | null;
}

/** Why a node was not a candidate. */
export type RejectionReason = 'unhealthy' | 'full' | 'lacks-capability' | 'no-link';

/** A node the policy looked at and set aside. */
export interface RejectedCandidate {
  readonly nodeId: NodeId;
  readonly region: RegionId;
  readonly reason: RejectionReason;
}

export interface PlacementScore {
  /** Nodes in the input. */
  readonly nodesTotal: number;
  readonly skippedUnhealthy: number;
  /** Healthy nodes at load ≥ 1. */
  readonly skippedFull: number;
  /** Usable nodes with the capability in the media region. */
  readonly localCandidates: number;
  /** Usable nodes with the capability elsewhere (with a known link from the media region). */
  readonly remoteCandidates: number;
  /** Usable nodes with the capability in regions with no link from the media region. */
  readonly unreachable: number;
  readonly chosen: CandidateScore | null;
  /** Up to three next-best candidates of the rule that decided, best first. */
  readonly runnersUp: readonly CandidateScore[];
  /** Nodes, healthy or not, without the capability (nor, for a central service, a relay in the media region). */
  readonly lackingCapability: number;
  /**
   * Nodes set aside, with the reason: the first few by node id (the counts
   * above say how many there were), so a trace stays small over a big mesh
   * and the same whatever the order of the input.
   */
  readonly rejected: readonly RejectedCandidate[];
}

interface DecisionBase {
  readonly capability: MediaCapability;
  readonly mediaRegion: RegionId;
  readonly homeRegion: RegionId;
  /** The trace: one short sentence per step, in order. */
  readonly reasons: readonly string[];
  readonly score: PlacementScore;
}

/** Capability on a healthy node where the media is. */
export interface LocalPlacement extends DecisionBase {
  readonly outcome: 'local';
  readonly nodeId: NodeId;
  readonly region: RegionId;
}

/** Capability only elsewhere: the media is routed through the remote node. */
export interface RemotePlacement extends DecisionBase {
  readonly outcome: 'remote';
  readonly nodeId: NodeId;
  readonly region: RegionId;
  /** One-way delay the media now crosses, ms. */
  readonly delayMs: number;
}

/** A central service of the home region: media stays on a local relay and a branch is tunnelled home. */
export interface BranchPlacement extends DecisionBase {
  readonly outcome: 'local-with-branch';
  readonly nodeId: NodeId;
  readonly region: RegionId;
  readonly branchTo: { readonly region: RegionId; readonly service: MediaCapability; readonly delayMs: number };
  /** True when the chosen local node has the capability itself, so a local copy is kept until the upload is confirmed. */
  readonly storeLocally: boolean;
}

export interface UnavailablePlacement extends DecisionBase {
  readonly outcome: 'unavailable';
}

export type PlacementDecision = LocalPlacement | RemotePlacement | BranchPlacement | UnavailablePlacement;
export type PlacementOutcome = PlacementDecision['outcome'];
