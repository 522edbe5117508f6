/**
 * Input checks of the placement policy. Hand-written rather than a zod schema
 * because they run on every decision over up to thousands of nodes and must
 * stay well inside the 1 ms budget: `choosePlacement` checks each node in the
 * same pass that ranks it, through `checkNode`, so every field is read once.
 * Only id uniqueness is left to `validatePlacementInput` (see there).
 * Each error names the offending field.
 */
import { MeshError } from '../../regions/core/errors.js';
import { MEDIA_CAPABILITIES } from '../../regions/catalog.js';
import type { PlacementInput, PlacementNode } from '../../regions/placement/types.js';

/** Most nodes one decision looks at: a bound on the work an input can ask for. */
export const MAX_PLACEMENT_NODES = 100_000;
/** Most regions in a delay matrix. */
const MAX_REGIONS = 64;
/** Most capabilities listed on one node or as central services (duplicates allowed, within reason). */
const MAX_CAPABILITY_LIST = MEDIA_CAPABILITIES.length * 2;

const CAPABILITIES: ReadonlySet<string> = new Set(MEDIA_CAPABILITIES);

function fail(field: string, message: string): never {
  throw new MeshError('BAD_REQUEST', `placement input ${field}: ${message}`, { detail: { field } });
}

function isNonEmptyString(v: unknown): v is string {
  return typeof v === 'string' && v.length > 0 && v.length <= 128;
}

function checkCapabilityList(v: unknown, field: string): void {
  if (!Array.isArray(v)) fail(field, 'must be an array');
  if (v.length > MAX_CAPABILITY_LIST) fail(field, `at most ${MAX_CAPABILITY_LIST} entries`);
  for (let i = 0; i < v.length; i++) {
    if (!CAPABILITIES.has(v[i] as string)) fail(`${field}[${i}]`, `unknown capability ${String(v[i])}`);
  }
}

/** Everything but the nodes: regions, capability, central services, the delay matrix, the node list's bound. */
export function checkPlacementHead(input: PlacementInput): void {
  if (typeof input !== 'object' || input === null) fail('(root)', 'must be an object');
  if (!isNonEmptyString(input.mediaRegion)) fail('mediaRegion', 'must be a non-empty region id');
  if (!isNonEmptyString(input.homeRegion)) fail('homeRegion', 'must be a non-empty region id');
  if (!CAPABILITIES.has(input.capability)) fail('capability', `unknown capability ${String(input.capability)}`);
  checkCapabilityList(input.centralServices, 'centralServices');

  const links = input.linkDelaysMs as unknown;
  if (typeof links !== 'object' || links === null || Array.isArray(links)) fail('linkDelaysMs', 'must be an object');
  const rows = Object.entries(links);
  if (rows.length > MAX_REGIONS) fail('linkDelaysMs', `at most ${MAX_REGIONS} regions`);
  for (const [from, row] of rows) {
    if (typeof row !== 'object' || row === null) fail(`linkDelaysMs.${from}`, 'must be an object');
    for (const [to, d] of Object.entries(row as Record<string, unknown>)) {
      if (typeof d !== 'number' || !Number.isFinite(d) || d < 0) fail(`linkDelaysMs.${from}.${to}`, 'must be a finite delay ≥ 0 ms');
    }
  }

  const nodes = input.nodes as unknown;
  if (!Array.isArray(nodes)) fail('nodes', 'must be an array');
  if (nodes.length > MAX_PLACEMENT_NODES) fail('nodes', `at most ${MAX_PLACEMENT_NODES} nodes`);
}

/**
 * Check one node's fields. Capabilities are checked by the caller while it
 * scans them (`checkCapability`), so the list is read once. Id uniqueness is
 * not checked here: see `validatePlacementInput`.
 */
export function checkNode(n: PlacementNode, i: number): void {
  if (typeof n !== 'object' || n === null) fail(`nodes[${i}]`, 'must be an object');
  if (!isNonEmptyString(n.id)) fail(`nodes[${i}].id`, 'must be a non-empty node id');
  if (!isNonEmptyString(n.region)) fail(`nodes[${i}].region`, 'must be a non-empty region id');
  const caps = n.capabilities as unknown;
  if (!Array.isArray(caps)) fail(`nodes[${i}].capabilities`, 'must be an array');
  if (caps.length > MAX_CAPABILITY_LIST) fail(`nodes[${i}].capabilities`, `at most ${MAX_CAPABILITY_LIST} entries`);
  if (typeof n.healthy !== 'boolean') fail(`nodes[${i}].healthy`, 'must be a boolean');
  const load = n.load;
  if (load !== undefined && (typeof load !== 'number' || !(load >= 0 && load <= 1))) fail(`nodes[${i}].load`, 'must be a number in 0..1');
  const sessions = n.sessions;
  if (sessions !== undefined && (typeof sessions !== 'number' || !Number.isSafeInteger(sessions) || sessions < 0)) {
    fail(`nodes[${i}].sessions`, 'must be an integer ≥ 0');
  }
}

/** For the caller's capability scan: throws naming the entry when `c` is not a known capability. */
export function checkCapability(c: unknown, i: number, k: number): void {
  if (!CAPABILITIES.has(c as string)) fail(`nodes[${i}].capabilities[${k}]`, `unknown capability ${String(c)}`);
}

/**
 * Everything `choosePlacement` checks, plus unique node ids. Run it where the
 * node list is built (a discovery refresh), not per decision: hashing 1,000
 * ids costs more than the decision itself. `choosePlacement` stays
 * order-independent even with a duplicate id (its ranking is a total order
 * over everything it reports), so skipping this per decision is safe.
 * Throws MeshError BAD_REQUEST naming the first bad field.
 */
export function validatePlacementInput(input: PlacementInput): void {
  checkPlacementHead(input);
  const ids = new Set<string>();
  for (let i = 0; i < input.nodes.length; i++) {
    const n = input.nodes[i] as PlacementNode;
    checkNode(n, i);
    for (let k = 0; k < n.capabilities.length; k++) checkCapability(n.capabilities[k], i, k);
    const before = ids.size;
    ids.add(n.id);
    if (ids.size === before) fail(`nodes[${i}].id`, `duplicate node id ${n.id}`);
  }
}
