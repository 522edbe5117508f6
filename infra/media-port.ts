/**
 * Adapts the media node registry (media/) to the B2BUA's MediaPort
 * (signaling/), so neither folder imports the other.
 */
import { choosePlacement } from '../control-plane/placement/index.js';
import type { MediaCapability, PlacementInput } from '../control-plane/placement/types.js';
import type { PlacementTraceEntry } from '../control-plane/placement/trace.js';
import { placementTraceEntry } from '../control-plane/placement/trace.js';
import { MeshError } from '../regions/core/errors.js';
import { asNodeId, asRegionId } from '../regions/core/ids.js';
import type { MediaNodeRegistry } from '../media/registry.js';
import type { MediaPort } from '../signaling/b2bua/media-port.js';

/** Called with every placement decision (for traces and metrics). */
export type PlacementListener = (callId: string, entry: PlacementTraceEntry) => void;

export class RegistryMediaPort implements MediaPort {
  /** Placement decisions by outcome, for /metrics. */
  readonly placements: Record<string, number> = {};
  private seq = 0;

  constructor(
    private readonly registry: MediaNodeRegistry,
    private readonly region: string = registry.region,
    private readonly onDecision?: PlacementListener,
  ) {}

  /**
   * Every new call's media goes through the placement policy: today the call's
   * media and home region are this region and the capability is relay, so the
   * answer is the least-loaded healthy local node (or none: 503).
   */
  acquire(callId: string): { nodeId: string } {
    return { nodeId: this.place(callId, []) };
  }

  reacquire(callId: string, excludeNodeId: string): { nodeId: string } {
    this.registry.release(callId);
    return { nodeId: this.place(callId, [excludeNodeId]) };
  }

  private place(callId: string, exclude: readonly string[]): string {
    const drained = new Set(this.registry.drainedIds);
    const region = asRegionId(this.region);
    const input: PlacementInput = {
      mediaRegion: region,
      homeRegion: region,
      capability: 'relay',
      nodes: this.registry.snapshot().map((n) => ({
        id: asNodeId(n.id),
        region,
        capabilities: ['relay', ...n.capabilities] as MediaCapability[],
        healthy: n.healthy && n.breaker !== 'open' && !drained.has(n.id) && !exclude.includes(n.id),
        sessions: n.load,
      })),
      linkDelaysMs: {},
      centralServices: [],
    };
    const decision = choosePlacement(input);
    this.placements[decision.outcome] = (this.placements[decision.outcome] ?? 0) + 1;
    this.onDecision?.(callId, placementTraceEntry(this.seq++, Date.now(), input, decision));
    if (decision.outcome === 'unavailable') {
      throw new MeshError('SERVICE_UNAVAILABLE', `no healthy media node in region ${this.region}: ${decision.reasons.join('; ')}`, { retryAfter: 5 });
    }
    this.registry.assign(callId, decision.nodeId);
    return decision.nodeId;
  }

  attach(callId: string, nodeId: string): void {
    this.registry.assign(callId, nodeId);
  }

  isHealthy(nodeId: string): boolean {
    return this.registry.isHealthy(nodeId);
  }

  release(callId: string): void {
    this.registry.release(callId);
  }

  private engine(nodeId: string) {
    const node = this.registry.node(nodeId);
    if (node === undefined) throw new MeshError('SERVICE_UNAVAILABLE', `media node ${nodeId} is not configured`);
    return node.engine;
  }

  offer(nodeId: string, callId: string, fromTag: string, sdp: string, toTag?: string): Promise<string> {
    return this.engine(nodeId).offer(callId, fromTag, sdp, toTag === undefined ? {} : { extra: { 'to-tag': toTag } });
  }

  answer(nodeId: string, callId: string, fromTag: string, toTag: string, sdp: string): Promise<string> {
    return this.engine(nodeId).answer(callId, fromTag, toTag, sdp);
  }

  delete(nodeId: string, callId: string): Promise<void> {
    return this.engine(nodeId).delete(callId);
  }
}
