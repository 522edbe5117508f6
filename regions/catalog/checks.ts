/**
 * Rules of the region catalog that span several entries: the schema checks
 * each field, these check that the fields agree with one another. Each issue
 * carries the path of the offending key so the start-up error names it.
 */
import type { RegionCatalogSpec } from './schema.js';
import { ipv4ToInt, parseIpv4Subnet, subnetContains, subnetsOverlap, type Ipv4Subnet } from './ipv4.js';

export interface CatalogIssue {
  readonly path: readonly (string | number)[];
  readonly message: string;
}

export function checkRegionCatalog(spec: RegionCatalogSpec): CatalogIssue[] {
  const issues: CatalogIssue[] = [];
  const add = (path: (string | number)[], message: string): void => {
    issues.push({ path, message });
  };
  const regionIds = new Set<string>();
  const subnets: { index: number; subnet: Ipv4Subnet }[] = [];
  const nodeIds = new Map<string, string>();
  // address → [min, max, path] of RTP ranges and ng ports already claimed.
  const rtpByAddress = new Map<string, { min: number; max: number; where: string }[]>();
  const ngByEndpoint = new Map<string, string>();

  spec.regions.forEach((region, ri) => {
    const at = (...rest: (string | number)[]): (string | number)[] => ['regions', ri, ...rest];
    if (regionIds.has(region.id)) add(at('id'), `duplicate region id ${region.id}`);
    regionIds.add(region.id);

    const subnet = parseIpv4Subnet(region.subnet);
    if (subnet === undefined) return; // the schema already reported it
    for (const other of subnets) {
      if (subnetsOverlap(subnet, other.subnet)) {
        add(at('subnet'), `subnet ${region.subnet} overlaps regions.${other.index}.subnet ${other.subnet.text}`);
      }
    }
    subnets.push({ index: ri, subnet });

    const inside = (address: string, path: (string | number)[]): void => {
      const n = ipv4ToInt(address);
      if (n !== undefined && !subnetContains(subnet, n)) add(path, `${address} is outside the region's subnet ${region.subnet}`);
    };
    inside(region.signaling.address, at('signaling', 'address'));
    inside(region.centralMedia.address, at('centralMedia', 'address'));

    region.mediaNodes.forEach((node, ni) => {
      const nat = (...rest: (string | number)[]): (string | number)[] => at('mediaNodes', ni, ...rest);
      const where = `regions.${ri}.mediaNodes.${ni}`;
      const seen = nodeIds.get(node.id);
      if (seen !== undefined) add(nat('id'), `duplicate media node id ${node.id} (also ${seen})`);
      else nodeIds.set(node.id, where);
      inside(node.address, nat('address'));

      const ngKey = `${node.address}:${node.ngPort}`;
      const ngSeen = ngByEndpoint.get(ngKey);
      if (ngSeen !== undefined) add(nat('ngPort'), `ng endpoint ${ngKey} is also used by ${ngSeen}`);
      else ngByEndpoint.set(ngKey, where);

      // Two rtpengines on one address with overlapping ranges would fight over ports.
      const ranges = rtpByAddress.get(node.address) ?? [];
      for (const r of ranges) {
        if (node.rtpPortMin <= r.max && r.min <= node.rtpPortMax) {
          add(nat('rtpPortMin'), `RTP range ${node.rtpPortMin}-${node.rtpPortMax} on ${node.address} overlaps ${r.where} (${r.min}-${r.max})`);
        }
      }
      ranges.push({ min: node.rtpPortMin, max: node.rtpPortMax, where });
      rtpByAddress.set(node.address, ranges);
    });
  });

  checkLinks(spec, regionIds, add);

  for (const [prefix, rule] of Object.entries(spec.homeRegionRules.numbers)) {
    if (!regionIds.has(rule.homeRegion)) {
      add(['homeRegionRules', 'numbers', prefix, 'homeRegion'], `unknown region ${rule.homeRegion}`);
    }
  }
  return issues;
}

/** The delay of the link a → b when the catalog has one (own keys only: a region may be called `constructor`). */
function linkDelay(links: RegionCatalogSpec['links'], a: string, b: string): number | undefined {
  const row = Object.hasOwn(links, a) ? links[a] : undefined;
  return row !== undefined && Object.hasOwn(row, b) ? row[b] : undefined;
}

/** Links must name known regions, be symmetric, and join every pair of distinct regions. */
function checkLinks(
  spec: RegionCatalogSpec,
  regionIds: ReadonlySet<string>,
  add: (path: (string | number)[], message: string) => void,
): void {
  const links = spec.links;
  for (const [from, row] of Object.entries(links)) {
    if (!regionIds.has(from)) {
      add(['links', from], `unknown region ${from}`);
      continue;
    }
    for (const [to, delay] of Object.entries(row)) {
      if (!regionIds.has(to)) add(['links', from, to], `unknown region ${to}`);
      else if (to === from) add(['links', from, to], 'a region has no link to itself');
      else {
        const back = linkDelay(links, to, from);
        // Report an asymmetric pair once, on the lexically first direction.
        if (back !== undefined && back !== delay && from < to) {
          add(['links', from, to], `delay ${delay} ms differs from links.${to}.${from} (${back} ms); links must be symmetric`);
        }
      }
    }
  }
  const ids = [...regionIds];
  for (const a of ids) {
    for (const b of ids) {
      if (a === b) continue;
      if (linkDelay(links, a, b) === undefined) {
        const back = linkDelay(links, b, a);
        if (back === undefined && a > b) continue; // an unlinked pair is reported once
        add(
          ['links', a, b],
          back === undefined ? `regions ${a} and ${b} are not linked` : `missing; links must be symmetric (links.${b}.${a} is ${back} ms)`,
        );
      }
    }
  }
}
