/**
 * What `/v1/regions` says about each region of the catalog: its signaling,
 * media and central media nodes as discovery sees them, and the state of its
 * links to the other regions.
 *
 * The control plane does not sit on the region links, so a link's state is
 * what it can observe: whether the far end is present in discovery. A link
 * A → B is `up` when B has a healthy signaling node (calls can be forwarded
 * to it) and, when the catalog gives B central media services, a healthy
 * central media service (branches and uploads have somewhere to go);
 * `partial` when only one of the two is present; `down` when neither is.
 * A link the operator cut with the link-cut drill (`/v1/regions/{a}/links/{b}`)
 * shows as `cut`, whatever discovery says; a link that broke by itself while
 * both ends still heartbeat shows as `up`: the delay is the catalog's, not a
 * measurement.
 */
import type { RegionCatalog } from '../../regions/catalog.js';
import { linkPair, type LinkPair } from '../../regions/store/link-cuts.js';
import type { NodeInfo, RegionInfo } from './types.js';

export type LinkState = 'up' | 'partial' | 'down' | 'cut';

export interface RegionLinkView {
  /** The region at the far end. */
  to: string;
  /** The catalog's one-way delay, ms; null when the catalog has none for this pair. */
  oneWayDelayMs: number | null;
  state: LinkState;
  /** Healthy signaling nodes of the far region in discovery. */
  peerSignalingHealthy: number;
  /** Healthy central media services of the far region in discovery; null when the catalog gives it none. */
  peerCentralMediaHealthy: number | null;
}

export interface RegionView {
  id: string;
  name?: string;
  sipAddress?: string;
  sipPort?: number;
  addresses?: string;
  signalingNodes: NodeInfo[];
  mediaNodes: NodeInfo[];
  centralMedia: { address: string | null; port: number | null; services: string[]; nodes: NodeInfo[] };
  links: RegionLinkView[];
}

/** The operator's region list from the catalog, in the catalog's order. */
export function regionsFromCatalog(catalog: RegionCatalog): RegionInfo[] {
  const delays = catalog.linkDelays();
  return catalog.regions.map((r) => ({
    id: r.id,
    sipAddress: r.signaling.address,
    sipPort: r.signaling.port,
    addresses: r.subnet,
    centralMedia: { address: r.centralMedia.address, port: r.centralMedia.port, services: [...r.centralMedia.services] },
    linkDelaysMs: { ...(delays[r.id] ?? {}) },
  }));
}

const byId = (a: NodeInfo, b: NodeInfo): number => a.id.localeCompare(b.id);

/** Each region with its nodes (from `nodes`, every region's) and its links to every other region; `cuts` are the drilled link cuts. */
export function describeRegions(regions: readonly RegionInfo[], nodes: readonly NodeInfo[], cuts: readonly LinkPair[] = []): RegionView[] {
  const cut = new Set(cuts.map(([a, b]) => linkPair(a, b).join('|')));
  const of = (region: string, kind: NodeInfo['kind']): NodeInfo[] => nodes.filter((n) => n.region === region && n.kind === kind).sort(byId);
  const healthy = (region: string, kind: NodeInfo['kind']): number => of(region, kind).filter((n) => n.healthy).length;
  return regions.map((r) => {
    const { centralMedia, linkDelaysMs, ...identity } = r;
    const links = regions
      .filter((o) => o.id !== r.id)
      .map((o): RegionLinkView => {
        const signaling = healthy(o.id, 'signaling');
        const needsCentral = (o.centralMedia?.services.length ?? 0) > 0;
        const central = needsCentral ? healthy(o.id, 'central-media') : null;
        const present = [signaling > 0, ...(central === null ? [] : [central > 0])];
        const observed: LinkState = present.every(Boolean) ? 'up' : present.some(Boolean) ? 'partial' : 'down';
        const state: LinkState = cut.has(linkPair(r.id, o.id).join('|')) ? 'cut' : observed;
        return { to: o.id, oneWayDelayMs: linkDelaysMs?.[o.id] ?? null, state, peerSignalingHealthy: signaling, peerCentralMediaHealthy: central };
      });
    return {
      ...identity,
      signalingNodes: of(r.id, 'signaling'),
      mediaNodes: of(r.id, 'media'),
      centralMedia: {
        address: centralMedia?.address ?? null,
        port: centralMedia?.port ?? null,
        services: [...(centralMedia?.services ?? [])],
        nodes: of(r.id, 'central-media'),
      },
      links,
    };
  });
}

/** `a, b, c`: the known region ids, sorted, for error messages. */
export function regionList(regions: Iterable<string>): string {
  return [...regions].sort().join(', ');
}
