/**
 * The media placement policy (DESIGN.md step 6): a pure, deterministic
 * function of its input. Same input → same decision, whatever the order of
 * the nodes: every ranking ends on the node id, and the trace mentions only
 * counts and ranked candidates.
 *
 * Rules, in order:
 *  1. the capability is a central service of the home region → keep the media
 *     on a local relay, store it locally, tunnel a branch to the home region's
 *     central media service (`local-with-branch`);
 *  2. a usable node in the media's region has the capability → `local`, the
 *     least loaded;
 *  3. a usable node elsewhere has it → `remote`, the nearest by one-way link
 *     delay from the media's region, then the least loaded;
 *  4. otherwise `unavailable`, saying why.
 * Every decision also lists the nodes it set aside and why (`score.rejected`:
 * unhealthy, full, lacks the capability, no link from the media region).
 * Usable = healthy and below full load. One pass over the nodes gathers what
 * every rule needs, so a decision over 1,000 nodes stays in microseconds.
 */
import type { NodeId, RegionId } from '../../regions/core/ids.js';
import { checkCapability, checkNode, checkPlacementHead } from './validate.js';
import type {
  CandidateScore,
  PlacementDecision,
  PlacementInput,
  PlacementNode,
  PlacementScore,
  RejectedCandidate,
  RejectionReason,
} from '../../regions/placement/types.js';

/** Chosen + runners-up kept per rule. */
const KEEP = 4;
/** Rejected nodes listed per decision (the lowest ids; the counts tell the rest). */
const KEEP_REJECTED = 8;

interface Ranked {
  readonly node: PlacementNode;
  /** 0 sorts first: used by the branch rule to prefer relays that can also store. */
  readonly pref: number;
  readonly delayMs: number;
}

/**
 * Total order: preference, delay, load (unreported last), sessions
 * (unreported last), id, region. Two nodes that compare equal report the same
 * in every field of the decision, so the decision does not depend on input
 * order — even with a duplicate id.
 */
function compare(a: Ranked, b: Ranked): number {
  if (a.pref !== b.pref) return a.pref - b.pref;
  if (a.delayMs !== b.delayMs) return a.delayMs - b.delayMs;
  const la = a.node.load ?? Infinity;
  const lb = b.node.load ?? Infinity;
  if (la !== lb) return la < lb ? -1 : 1;
  const sa = a.node.sessions ?? Infinity;
  const sb = b.node.sessions ?? Infinity;
  if (sa !== sb) return sa < sb ? -1 : 1;
  if (a.node.id !== b.node.id) return a.node.id < b.node.id ? -1 : 1;
  return a.node.region < b.node.region ? -1 : a.node.region > b.node.region ? 1 : 0;
}

/** Insert `item` into `list`, kept sorted by `cmp` and capped at `cap` entries (insertion sort: the lists are tiny). */
function insertCapped<T>(list: T[], item: T, cap: number, cmp: (a: T, b: T) => number): void {
  if (list.length === cap && cmp(item, list[cap - 1] as T) >= 0) return;
  let i = list.length < cap ? list.length : cap - 1;
  if (list.length < cap) list.push(item);
  while (i > 0 && cmp(item, list[i - 1] as T) < 0) {
    list[i] = list[i - 1] as T;
    i--;
  }
  list[i] = item;
}

/** Insert into a best-first list capped at KEEP entries. */
function offer(list: Ranked[], r: Ranked): void {
  insertCapped(list, r, KEEP, compare);
}

/** Total order on rejections (id, region, reason), so the kept few do not depend on input order. */
function compareRejected(a: RejectedCandidate, b: RejectedCandidate): number {
  if (a.nodeId !== b.nodeId) return a.nodeId < b.nodeId ? -1 : 1;
  if (a.region !== b.region) return a.region < b.region ? -1 : 1;
  return a.reason < b.reason ? -1 : a.reason > b.reason ? 1 : 0;
}

/** Insert into the id-ordered rejection list capped at KEEP_REJECTED. */
function reject(list: RejectedCandidate[], node: PlacementNode, reason: RejectionReason): void {
  insertCapped(list, { nodeId: node.id, region: node.region, reason }, KEEP_REJECTED, compareRejected);
}

function scoreOf(r: Ranked): CandidateScore {
  return {
    nodeId: r.node.id,
    region: r.node.region,
    delayMs: r.delayMs,
    load: r.node.load ?? null,
    sessions: r.node.sessions ?? null,
  };
}

function describeLoad(n: PlacementNode): string {
  const parts: string[] = [];
  if (n.load !== undefined) parts.push(`load ${n.load}`);
  if (n.sessions !== undefined) parts.push(`${n.sessions} sessions`);
  return parts.length > 0 ? parts.join(', ') : 'no load reported';
}

/**
 * Why the winner beat the runner-up, said only when they tie on the rule's
 * main key (delay for remote, load otherwise) and a later key decided.
 */
function tieBreak(best: Ranked, next: Ranked | undefined, loadIsTieBreak: boolean): string {
  if (next === undefined || next.pref !== best.pref || next.delayMs !== best.delayMs) return '';
  if ((best.node.load ?? Infinity) !== (next.node.load ?? Infinity)) return loadIsTieBreak ? ` ahead of ${next.node.id} on load` : '';
  if ((best.node.sessions ?? Infinity) !== (next.node.sessions ?? Infinity)) return ` ahead of ${next.node.id} on sessions`;
  return ` ahead of ${next.node.id} on id (equal load)`;
}

/** `table[key]` when it is the table's own entry: never an Object.prototype member. */
function ownValue<V>(table: Readonly<Record<string, V>>, key: string): V | undefined {
  return Object.hasOwn(table, key) ? table[key] : undefined;
}

export function choosePlacement(input: PlacementInput): PlacementDecision {
  checkPlacementHead(input);
  const { mediaRegion, homeRegion, capability } = input;
  // Own keys only: region ids come from discovery and config, and `constructor` is a valid id.
  const fromMedia = ownValue(input.linkDelaysMs, mediaRegion);
  const isCentral = input.centralServices.includes(capability);

  let skippedUnhealthy = 0;
  let skippedFull = 0;
  let localCount = 0;
  let remoteCount = 0;
  let unreachable = 0;
  let relayCount = 0;
  let lacking = 0;
  const rejected: RejectedCandidate[] = [];
  const local: Ranked[] = [];
  const remote: Ranked[] = [];
  const relays: Ranked[] = [];

  // One pass: each node is checked and ranked while its fields are at hand.
  const nodes = input.nodes;
  for (let i = 0; i < nodes.length; i++) {
    const node = nodes[i] as PlacementNode;
    checkNode(node, i);
    const caps = node.capabilities;
    let hasCapability = false;
    let hasRelay = false;
    for (let k = 0; k < caps.length; k++) {
      const c = caps[k];
      if (c === capability) hasCapability = true;
      else if (c === 'relay') hasRelay = true;
      else checkCapability(c, i, k);
    }
    if (capability === 'relay') hasRelay = hasCapability;
    // A node that could not serve anyway is rejected for that, whatever its health.
    const couldServe = hasCapability || (isCentral && hasRelay && node.region === mediaRegion);
    if (!couldServe) {
      lacking++;
      reject(rejected, node, 'lacks-capability');
    }
    if (!node.healthy) {
      skippedUnhealthy++;
      if (couldServe) reject(rejected, node, 'unhealthy');
      continue;
    }
    if (node.load !== undefined && node.load >= 1) {
      skippedFull++;
      if (couldServe) reject(rejected, node, 'full');
      continue;
    }
    if (node.region === mediaRegion) {
      if (hasCapability) {
        localCount++;
        offer(local, { node, pref: 0, delayMs: 0 });
      }
      if (isCentral && hasRelay) {
        relayCount++;
        offer(relays, { node, pref: hasCapability ? 0 : 1, delayMs: 0 });
      }
    } else if (hasCapability) {
      const d = fromMedia === undefined ? undefined : ownValue(fromMedia, node.region);
      if (d === undefined) {
        unreachable++;
        reject(rejected, node, 'no-link');
      } else {
        remoteCount++;
        offer(remote, { node, pref: 0, delayMs: d });
      }
    }
  }

  const reasons: string[] = [`Media is in ${mediaRegion}, home is ${homeRegion}, need ${capability}.`];
  if (skippedUnhealthy + skippedFull > 0) {
    reasons.push(`Skipped ${skippedUnhealthy} unhealthy and ${skippedFull} full node(s).`);
  }
  const score = (list: readonly Ranked[]): PlacementScore => ({
    nodesTotal: input.nodes.length,
    skippedUnhealthy,
    skippedFull,
    localCandidates: localCount,
    remoteCandidates: remoteCount,
    unreachable,
    chosen: list[0] === undefined ? null : scoreOf(list[0]),
    runnersUp: list.slice(1).map(scoreOf),
    lackingCapability: lacking,
    rejected: [...rejected],
  });

  // Rule 1: central service of the home region.
  if (isCentral) {
    const branchDelay = mediaRegion === homeRegion ? 0 : fromMedia === undefined ? undefined : ownValue(fromMedia, homeRegion);
    const best = relays[0];
    if (branchDelay === undefined) {
      reasons.push(`${capability} is a central service of ${homeRegion}, but no link from ${mediaRegion} reaches it; placing as a media resource.`);
    } else if (best === undefined) {
      reasons.push(`${capability} is a central service of ${homeRegion}, but no usable relay in ${mediaRegion} can fork a branch; placing as a media resource.`);
    } else {
      const storeLocally = best.pref === 0;
      reasons.push(`${capability} is a central service of ${homeRegion}: keep media in ${mediaRegion} and branch to it.`);
      reasons.push(
        `${best.node.id} chosen from ${relayCount} relay(s) in ${mediaRegion} (${describeLoad(best.node)})${tieBreak(best, relays[1], false)}; ` +
          (storeLocally ? `it can ${capability} too, so a local copy is kept until the upload is confirmed.` : `none there can ${capability}, so the branch is the only copy.`),
      );
      reasons.push(
        mediaRegion === homeRegion
          ? `Branch goes to ${homeRegion}'s central media service in the same region.`
          : `Branch tunnels to ${homeRegion}'s central media service over a ${branchDelay} ms link.`,
      );
      return {
        capability,
        mediaRegion,
        homeRegion,
        reasons,
        outcome: 'local-with-branch',
        nodeId: best.node.id,
        region: mediaRegion,
        branchTo: { region: homeRegion, service: capability, delayMs: branchDelay },
        storeLocally,
        score: score(relays),
      };
    }
  }

  // Rule 2: local.
  const bestLocal = local[0];
  if (bestLocal !== undefined) {
    reasons.push(
      `${bestLocal.node.id} chosen from ${localCount} node(s) in ${mediaRegion} with ${capability} (${describeLoad(bestLocal.node)})${tieBreak(bestLocal, local[1], false)}.`,
    );
    return { capability, mediaRegion, homeRegion, reasons, outcome: 'local', nodeId: bestLocal.node.id, region: mediaRegion, score: score(local) };
  }

  // Rule 3: remote, nearest first.
  const bestRemote = remote[0];
  if (bestRemote !== undefined) {
    reasons.push(`No usable node in ${mediaRegion} has ${capability}; ${remoteCount} elsewhere do.`);
    reasons.push(
      `${bestRemote.node.id} in ${bestRemote.node.region} chosen: nearest at ${bestRemote.delayMs} ms one way (${describeLoad(bestRemote.node)})${tieBreak(bestRemote, remote[1], true)}.`,
    );
    return {
      capability,
      mediaRegion,
      homeRegion,
      reasons,
      outcome: 'remote',
      nodeId: bestRemote.node.id,
      region: bestRemote.node.region,
      delayMs: bestRemote.delayMs,
      score: score(remote),
    };
  }

  // Rule 4: nothing.
  reasons.push(
    unreachable > 0
      ? `Unavailable: ${capability} exists only on ${unreachable} node(s) in regions with no link from ${mediaRegion}.`
      : `Unavailable: no healthy node below full load has ${capability}.`,
  );
  return { capability, mediaRegion, homeRegion, reasons, outcome: 'unavailable', score: score([]) };
}

/** Ids of a decision's node and region, or undefined for `unavailable`; handy for callers that only allocate. */
export function placedNode(d: PlacementDecision): { nodeId: NodeId; region: RegionId } | undefined {
  return d.outcome === 'unavailable' ? undefined : { nodeId: d.nodeId, region: d.region };
}
