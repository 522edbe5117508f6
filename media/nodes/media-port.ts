/**
 * The B2BUA's media port (`MediaPort`, signaling/b2bua/media-port.ts) on this
 * region's media node registry: which node a call's media goes to, and the
 * load each node carries. The B2BUA owns that interface; this class matches
 * it structurally, so neither folder imports the other (the composition root,
 * infra/signaling-node.ts, hands one to the other; a unit test checks the fit).
 *
 * Placement sees this region's nodes as the registry's pings report them, and,
 * when built with `discovered`, every other media node discovery lists as
 * healthy (other regions' resources); a `remote` decision routes the call's
 * media through such a node. The decision itself is the placement policy's
 * (control-plane/placement), passed in as `choosePlacement`.
 */
import { MEDIA_CAPABILITIES } from '../../regions/catalog.js';
import { isMeshError, MeshError } from '../../regions/core/errors.js';
import { asNodeId, asRegionId } from '../../regions/core/ids.js';
import type { LinkDelayMatrix, MediaCapability, PlacementDecision, PlacementInput } from '../../regions/placement/types.js';
import type { MediaEngine } from '../engine/types.js';
import { webrtcSdpOptions, type WebrtcSide } from '../engine/webrtc-sdp.js';
import type { DiscoveredMediaNodes } from './discovered.js';
import type { MediaNodeRegistry } from './registry.js';

const KNOWN_CAPABILITIES: ReadonlySet<string> = new Set(MEDIA_CAPABILITIES);
/** Capabilities placement does not know (a typo in configuration) are left out rather than failing every decision. */
const isCapability = (c: string): c is MediaCapability => KNOWN_CAPABILITIES.has(c);

/** rtpengine's error reason when its RTP port range is used up (daemon/call_interfaces.c, 10.5). */
const PORTS_EXHAUSTED = /ran out of ports/i;

/** Whether an ng failure is rtpengine saying it has no free RTP port. */
export function isPortExhaustion(e: unknown): boolean {
  if (!isMeshError(e, 'BAD_GATEWAY')) return false;
  const reason = (e.detail as { errorReason?: unknown } | undefined)?.errorReason;
  return PORTS_EXHAUSTED.test(typeof reason === 'string' ? reason : e.message);
}

/** The placement policy (control-plane/placement's `choosePlacement`; media/ may not import control-plane/). */
export type ChoosePlacement = (input: PlacementInput) => PlacementDecision;

/** One decision of this port: numbered from 0 in order, with what was asked and when. */
export interface PlacementMade {
  readonly seq: number;
  readonly atMs: number;
  readonly input: PlacementInput;
  readonly decision: PlacementDecision;
}

/** Called with every placement decision (for traces and metrics). */
export type PlacementListener = (callId: string, made: PlacementMade) => void;

export interface RegistryMediaPortOptions {
  choosePlacement: ChoosePlacement;
  /** This region. Default: the registry's. */
  region?: string;
  onDecision?: PlacementListener;
  /**
   * The media nodes discovery lists (other regions', or this region's that
   * another signaling node checks), added to placement. Default: none, only
   * the registry's nodes.
   */
  discovered?: DiscoveredMediaNodes;
  /** One-way delay to each other region, ms: how far a discovered node's media is. Default none. */
  linkDelaysMs?: Readonly<Record<string, number>>;
  /**
   * One-way delays between every pair of regions (`matrix[from][to]`, ms):
   * placement for media that is in another region (an edge that forwarded
   * the call) measures distances from there. Default: only this region's row.
   */
  linkMatrixMs?: LinkDelayMatrix;
}

/** What a call's media needs (the B2BUA's `MediaNeed`, matched structurally). */
export interface MediaNeed {
  readonly mediaRegion?: string;
  readonly capability?: MediaCapability;
}

export class RegistryMediaPort {
  /** Placement decisions by outcome, for /metrics. */
  readonly placements: Record<string, number> = {};
  private seq = 0;
  private readonly discovered: DiscoveredMediaNodes | undefined;
  /** Delays from every region the node knows, its own row included: the same for each decision, so built once. */
  private readonly placementDelaysMs: LinkDelayMatrix;
  private readonly region: string;
  private readonly choosePlacement: ChoosePlacement;
  private readonly onDecision: PlacementListener | undefined;

  constructor(
    private readonly registry: MediaNodeRegistry,
    opts: RegistryMediaPortOptions,
  ) {
    this.region = opts.region ?? registry.region;
    this.choosePlacement = opts.choosePlacement;
    this.onDecision = opts.onDecision;
    this.discovered = opts.discovered;
    this.placementDelaysMs = Object.freeze(Object.assign({}, opts.linkMatrixMs, { [this.region]: { ...opts.linkDelaysMs } }));
  }

  /**
   * Every new call's media goes through the placement policy: the call's media
   * and home region are this region and the capability is relay, so the answer
   * is the least-loaded healthy local node; with none, the nearest healthy
   * discovered node of another region (`remote`); else 503.
   *
   * With `need`, the media is where `need.mediaRegion` says (an edge that
   * forwarded the call here without anchoring it) and the capability is
   * `need.capability`: the policy prefers a healthy node with it in that
   * region, else the nearest region that has it (DESIGN step 6).
   */
  acquire(callId: string, need?: MediaNeed): { nodeId: string } {
    return { nodeId: this.place(callId, [], need) };
  }

  reacquire(callId: string, exclude: string | readonly string[], need?: MediaNeed): { nodeId: string } {
    this.release(callId);
    return { nodeId: this.place(callId, typeof exclude === 'string' ? [exclude] : exclude, need) };
  }

  /** The placement policy's view of the media nodes now: local ones from the registry, the rest from discovery. */
  placementNodes(exclude: readonly string[] = []): PlacementInput['nodes'] {
    const drained = new Set(this.registry.drainedIds);
    const region = asRegionId(this.region);
    const local = this.registry.snapshot().map((n) => ({
      id: asNodeId(n.id),
      region,
      capabilities: [...new Set(['relay', ...n.capabilities])].filter(isCapability),
      // A full node (no RTP ports) is healthy for its calls but takes no new ones.
      healthy: n.healthy && n.breaker !== 'open' && !n.full && !drained.has(n.id) && !exclude.includes(n.id),
      sessions: n.load,
    }));
    if (this.discovered === undefined) return local;
    const remote = this.discovered
      .placementNodes((id) => this.registry.node(id) !== undefined)
      .map((n) => (exclude.includes(n.id) ? Object.assign({}, n, { healthy: false }) : n));
    return [...local, ...remote];
  }

  private place(callId: string, exclude: readonly string[], need?: MediaNeed): string {
    const region = asRegionId(this.region);
    const mediaRegion = need?.mediaRegion === undefined ? region : asRegionId(need.mediaRegion);
    const input: PlacementInput = {
      mediaRegion,
      homeRegion: region,
      capability: need?.capability ?? 'relay',
      nodes: this.placementNodes(exclude),
      linkDelaysMs: this.placementDelaysMs,
      centralServices: [],
    };
    const decision = this.choosePlacement(input);
    this.placements[decision.outcome] = (this.placements[decision.outcome] ?? 0) + 1;
    this.onDecision?.(callId, { seq: this.seq++, atMs: Date.now(), input, decision });
    if (decision.outcome === 'unavailable') {
      const what = need === undefined ? `in region ${this.region}` : `with ${input.capability} for media in region ${mediaRegion}`;
      throw new MeshError('SERVICE_UNAVAILABLE', `no healthy media node ${what}: ${decision.reasons.join('; ')}`, { retryAfter: 5 });
    }
    this.attach(callId, decision.nodeId);
    return decision.nodeId;
  }

  /**
   * A media need of a leg whose media is already on `nodeId` (an instruction
   * to play, collect digits, record or bridge): asked of the policy with the
   * node's region as where the media is. When the node has the capability and
   * is healthy, the policy sees only that node, so the answer is `local` on it
   * ("use it there"); otherwise it sees every node and says where the
   * capability is (`remote`, another local node) or that none has it. Traced
   * under `callKey` like every decision; nothing is allocated.
   */
  decideFor(callKey: string, nodeId: string, capability: MediaCapability): PlacementDecision {
    const region = asRegionId(this.regionOf(nodeId) ?? this.region);
    const all = this.placementNodes();
    const here = all.find((n) => n.id === nodeId);
    const nodes = here !== undefined && here.healthy && here.capabilities.includes(capability) ? [here] : all;
    const input: PlacementInput = {
      mediaRegion: region,
      homeRegion: asRegionId(this.region),
      capability,
      nodes,
      linkDelaysMs: this.placementDelaysMs,
      centralServices: [],
    };
    const decision = this.choosePlacement(input);
    this.placements[decision.outcome] = (this.placements[decision.outcome] ?? 0) + 1;
    this.onDecision?.(callKey, { seq: this.seq++, atMs: Date.now(), input, decision });
    return decision;
  }

  attach(callId: string, nodeId: string): void {
    if (this.registry.node(nodeId) !== undefined || this.discovered === undefined) this.registry.assign(callId, nodeId);
    else {
      this.registry.release(callId);
      this.discovered.assign(callId, nodeId);
    }
  }

  isHealthy(nodeId: string): boolean {
    if (this.registry.node(nodeId) !== undefined) return this.registry.isHealthy(nodeId);
    return this.discovered?.isHealthy(nodeId) ?? false;
  }

  release(callId: string): void {
    this.registry.release(callId);
    this.discovered?.release(callId);
  }

  /** Region of a node, local or discovered; undefined for a node neither knows. */
  regionOf(nodeId: string): string | undefined {
    if (this.registry.node(nodeId) !== undefined) return this.region;
    return this.discovered?.source.get(nodeId)?.region;
  }

  /** The node's engine, local or discovered. Throws SERVICE_UNAVAILABLE for a node neither knows. */
  engine(nodeId: string): MediaEngine {
    const node = this.registry.node(nodeId);
    if (node !== undefined) return node.engine;
    const remote = this.discovered?.engine(nodeId);
    if (remote === undefined) throw new MeshError('SERVICE_UNAVAILABLE', `media node ${nodeId} is neither configured nor in discovery`);
    return remote;
  }

  /** A node that answers "Ran out of ports" is marked full (registry.markFull), so the next placement skips it. */
  /** `webrtc`: a browser's place in the command (engine/webrtc-sdp.ts); absent, plain SIP peers on both sides. */
  offer(nodeId: string, callId: string, fromTag: string, sdp: string, toTag?: string, webrtc?: WebrtcSide): Promise<string> {
    return this.engine(nodeId)
      .offer(callId, fromTag, sdp, {
        ...(webrtc === undefined ? {} : webrtcSdpOptions(webrtc, sdp, true)),
        ...(toTag === undefined ? {} : { extra: { 'to-tag': toTag } }),
      })
      .catch((e: unknown) => {
        if (isPortExhaustion(e)) this.registry.markFull(nodeId);
        throw e;
      });
  }

  answer(nodeId: string, callId: string, fromTag: string, toTag: string, sdp: string, webrtc?: WebrtcSide): Promise<string> {
    return this.engine(nodeId).answer(callId, fromTag, toTag, sdp, webrtc === undefined ? {} : webrtcSdpOptions(webrtc, sdp, false));
  }

  delete(nodeId: string, callId: string): Promise<void> {
    return this.engine(nodeId).delete(callId);
  }
}
