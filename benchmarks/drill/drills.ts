/**
 * The drill kinds against the operator API: what each one sends, how the
 * runner sees the mesh report it (polled), and the checks before a drill
 * (the node exists, is healthy and not drained; the link is not cut yet).
 */
import type { RegionCatalog } from '../../regions/catalog.js';
import type { DrillOptions } from './args.js';
import type { OperatorClient, OperatorNode } from './operator-client.js';

/** The operator API is polled this often for the drill's change. */
export const POLL_MS = 100;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface Drill {
  /** Sends the drill request. */
  act(): Promise<void>;
  /** True once the operator API shows the change. */
  detected(): Promise<boolean>;
  /** link-cut, media-drain: undo (restore, undrain) after the duration. */
  undo?: () => Promise<void>;
  /** link-cut, media-drain: true once the API shows the link open / the node serving again. */
  undone?: () => Promise<boolean>;
  describe: string;
}

export function drillFor(opts: DrillOptions, client: OperatorClient, nodeId: string | undefined): Drill {
  const nodeState = async (): Promise<OperatorNode | undefined> => (await client.nodes(opts.region)).find((n) => n.id === nodeId);
  switch (opts.kind) {
    case 'media-kill':
    case 'signaling-kill':
      return {
        describe: `SIGKILL of ${nodeId}`,
        act: () => client.drill('kill', nodeId!),
        detected: async () => (await nodeState())?.healthy !== true,
      };
    case 'media-drain': {
      const drained = (n: OperatorNode | undefined): boolean => n !== undefined && (n.state === 'drained' || n.drained === true || n.meta?.['drained'] === '1');
      return {
        describe: `drain of ${nodeId} for ${opts.durationS} s`,
        act: () => client.drill('drain', nodeId!),
        detected: async () => {
          const n = await nodeState();
          return n === undefined || !n.healthy || drained(n);
        },
        undo: () => client.drill('undrain', nodeId!),
        undone: async () => {
          const n = await nodeState();
          return n !== undefined && n.healthy && !drained(n);
        },
      };
    }
    case 'link-cut': {
      const linkCut = async (): Promise<boolean> => (await client.regions()).find((r) => r.id === opts.region)?.links.find((l) => l.to === opts.peer)?.state === 'cut';
      return {
        describe: `cut of the link ${opts.region} – ${opts.peer!} for ${opts.durationS} s`,
        act: () => client.link(opts.region, opts.peer!, 'cut'),
        detected: linkCut,
        undo: () => client.link(opts.region, opts.peer!, 'restore'),
        undone: async () => (await client.linkState(opts.region, opts.peer!)) === 'open' && !(await linkCut()),
      };
    }
  }
}

/** Poll `cond` every POLL_MS until true (→ ms since `since`) or `untilMs`; API errors count as "not yet". */
export async function pollUntil(cond: () => Promise<boolean>, since: number, untilMs: number): Promise<number | undefined> {
  while (Date.now() < untilMs) {
    try {
      if (await cond()) return Date.now() - since;
    } catch {
      /* the mesh may answer slowly while drilled; keep polling */
    }
    await sleep(POLL_MS);
  }
  return undefined;
}

/** The node the drill acts on (undefined for link-cut); throws naming what is wrong. `warn` gets non-fatal findings. */
export async function preflight(opts: DrillOptions, client: OperatorClient, catalog: RegionCatalog, warn: (line: string) => void): Promise<string | undefined> {
  if (opts.kind === 'link-cut') {
    if ((await client.linkState(opts.region, opts.peer!)) === 'cut') {
      throw new Error(`the link ${opts.region} – ${opts.peer!} is already cut; restore it first (POST /v1/regions/${opts.region}/links/${opts.peer!} {"action":"restore"})`);
    }
    return undefined;
  }
  const nodes = await client.nodes(opts.region);
  const kind = opts.kind === 'signaling-kill' ? 'signaling' : 'media';
  const nodeId =
    opts.nodeId ??
    (kind === 'media' ? catalog.region(opts.region).mediaNodes[0]?.id : nodes.filter((n) => n.kind === 'signaling').map((n) => n.id).sort()[0]);
  if (nodeId === undefined) throw new Error(`region ${opts.region} has no ${kind} node`);
  const node = nodes.find((n) => n.id === nodeId);
  const known = nodes.filter((n) => n.kind === kind).map((n) => n.id).join(', ') || 'none';
  if (node === undefined) throw new Error(`node ${nodeId} is not in region ${opts.region}; its ${kind} nodes: ${known}`);
  if (node.kind !== kind) throw new Error(`node ${nodeId} is a ${node.kind} node; ${opts.kind} needs a ${kind} node (${known})`);
  if (!node.healthy) throw new Error(`node ${nodeId} is not healthy now (killed by an earlier drill? the launcher restarts it within seconds); try again or pick another with --node (${known})`);
  if (opts.kind === 'media-drain' && (node.state === 'drained' || node.drained === true || node.meta?.['drained'] === '1')) {
    throw new Error(`node ${nodeId} is already drained; undrain it (POST /v1/drills {"action":"undrain","nodeId":"${nodeId}"}) or pick another with --node (${known})`);
  }
  const healthyOthers = nodes.filter((n) => n.kind === kind && n.healthy && n.id !== nodeId).length;
  if (kind === 'media' && healthyOthers === 0) warn(`warning: ${nodeId} is the only healthy media node of ${opts.region}: calls cannot recover there`);
  return nodeId;
}
