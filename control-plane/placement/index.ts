/** The media placement policy: `choosePlacement` and the per-call `PlacementTrace`. */
export { choosePlacement, placedNode } from './choose.js';
export { validatePlacementInput, MAX_PLACEMENT_NODES } from './validate.js';
export { placementInputFromCatalog, placementNodesFromCatalog, type NodeHealth } from './from-catalog.js';
export {
  PlacementTrace,
  placementTraceEntry,
  placementKind,
  summarisePlacementInput,
  DEFAULT_MAX_ENTRIES_PER_CALL,
  DEFAULT_MAX_TRACED_CALLS,
  type CallPlacementTrace,
  type PlacementInputSummary,
  type PlacementKind,
  type PlacementTraceEntry,
  type PlacementTraceOptions,
} from './trace.js';
export type * from '../../regions/placement/types.js';
