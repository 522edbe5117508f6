/**
 * Builds a placement input from the region catalog plus live health (from
 * discovery), so callers do not re-derive central services and link delays.
 */
import type { RegionCatalog } from '../../regions/catalog.js';
import type { NodeId, RegionId } from '../../regions/core/ids.js';
import type { MediaCapability, PlacementInput, PlacementNode } from '../../regions/placement/types.js';

export interface NodeHealth {
  readonly healthy: boolean;
  readonly load?: number;
  readonly sessions?: number;
}

/**
 * Catalog nodes with their health; a node discovery does not know about
 * (`health` returns undefined) counts as unhealthy — placement uses only
 * nodes that have proven they are alive.
 */
export function placementNodesFromCatalog(
  catalog: RegionCatalog,
  health: (nodeId: NodeId) => NodeHealth | undefined,
): PlacementNode[] {
  return catalog.mediaNodes().map((n) => {
    const h = health(n.id);
    const node: { -readonly [K in keyof PlacementNode]: PlacementNode[K] } = {
      id: n.id,
      region: n.region,
      capabilities: n.capabilities,
      healthy: h?.healthy ?? false,
    };
    if (h?.load !== undefined) node.load = h.load;
    if (h?.sessions !== undefined) node.sessions = h.sessions;
    return node;
  });
}

export function placementInputFromCatalog(
  catalog: RegionCatalog,
  call: { mediaRegion: RegionId; homeRegion: RegionId; capability: MediaCapability },
  nodes: readonly PlacementNode[],
): PlacementInput {
  return {
    mediaRegion: call.mediaRegion,
    homeRegion: call.homeRegion,
    capability: call.capability,
    nodes,
    linkDelaysMs: catalog.linkDelays(),
    centralServices: catalog.centralServicesOf(call.homeRegion),
  };
}
