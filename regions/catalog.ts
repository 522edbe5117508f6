/**
 * The region catalog: every region's signaling node, media nodes, central
 * media service and subnet, the links between regions with their one-way
 * delay, and the number → tenant → home region rules. Loaded once at start,
 * validated (field rules in `catalog/schema.ts`, cross-entry rules in
 * `catalog/checks.ts`), then read-only.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MeshError } from './core/errors.js';
import type { NodeId, RegionId } from './core/ids.js';
import { checkRegionCatalog, type CatalogIssue } from './catalog/checks.js';
import { HomeRegionRules } from './catalog/home-region.js';
import { ipv4ToInt, parseIpv4Subnet, subnetContains, type Ipv4Subnet } from './catalog/ipv4.js';
import { RegionCatalogSchema, type MediaCapability, type RegionCatalogSpec } from './catalog/schema.js';

export { MEDIA_CAPABILITIES, type MediaCapability, type RegionCatalogSpec } from './catalog/schema.js';
export { HomeRegionRules, normaliseNumber, type HomeRegionMatch } from './catalog/home-region.js';

export interface MediaNodeInfo {
  readonly id: NodeId;
  readonly region: RegionId;
  readonly address: string;
  readonly ngPort: number;
  readonly rtpPortMin: number;
  readonly rtpPortMax: number;
  readonly capabilities: readonly MediaCapability[];
}

export interface Region {
  readonly id: RegionId;
  readonly subnet: string;
  readonly signaling: { readonly address: string; readonly port: number };
  readonly mediaNodes: readonly MediaNodeInfo[];
  readonly centralMedia: { readonly address: string; readonly port: number; readonly services: readonly MediaCapability[] };
}

/** One-way delays in ms, `matrix[from][to]`; the diagonal is absent (same region = 0). */
export type LinkDelayMatrix = Readonly<Record<string, Readonly<Record<string, number>>>>;

/** Environment variable naming a catalog file, used when `loadRegionCatalog` gets no path. */
export const REGIONS_FILE_ENV = 'MESH_REGIONS';

export class RegionCatalog {
  readonly regions: readonly Region[];
  readonly homeRegionRules: HomeRegionRules;
  readonly #spec: RegionCatalogSpec;
  readonly #byId: ReadonlyMap<string, Region>;
  readonly #nodes: ReadonlyMap<string, MediaNodeInfo>;
  readonly #subnets: readonly { region: RegionId; subnet: Ipv4Subnet }[];
  readonly #links: LinkDelayMatrix;
  readonly #regionIds: readonly RegionId[];

  /** Use `RegionCatalog.parse`, `parseRegionCatalog` or `loadRegionCatalog`: they validate first. */
  private constructor(spec: RegionCatalogSpec) {
    this.#spec = spec;
    this.regions = Object.freeze(
      spec.regions.map((r) => {
        const id = r.id as RegionId;
        return Object.freeze({
          id,
          subnet: r.subnet,
          signaling: Object.freeze({ ...r.signaling }),
          mediaNodes: Object.freeze(
            r.mediaNodes.map((n) => Object.freeze({ ...n, id: n.id as NodeId, region: id, capabilities: Object.freeze([...n.capabilities]) })),
          ),
          centralMedia: Object.freeze({ ...r.centralMedia, services: Object.freeze([...r.centralMedia.services]) }),
        });
      }),
    );
    this.#regionIds = Object.freeze(this.regions.map((r) => r.id));
    this.#byId = new Map(this.regions.map((r) => [r.id, r]));
    this.#nodes = new Map(this.regions.flatMap((r) => r.mediaNodes.map((n) => [n.id, n] as const)));
    this.#subnets = this.regions.map((r) => ({ region: r.id, subnet: parseIpv4Subnet(r.subnet) as Ipv4Subnet }));
    this.#links = Object.freeze(
      Object.fromEntries(Object.entries(spec.links).map(([from, row]) => [from, Object.freeze({ ...row })])),
    );
    this.homeRegionRules = new HomeRegionRules(spec.homeRegionRules.numbers);
  }

  /** Validate a raw object; throws MeshError('CONFIG_INVALID') naming every bad key. */
  static parse(raw: unknown, source = 'region catalog'): RegionCatalog {
    const r = RegionCatalogSchema.safeParse(raw);
    const issues: CatalogIssue[] = r.success
      ? checkRegionCatalog(r.data)
      : r.error.issues.map((i) => ({ path: i.path, message: i.message }));
    if (!r.success || issues.length > 0) {
      throw new MeshError('CONFIG_INVALID', `invalid ${source}:\n${formatIssues(issues)}`, {
        detail: { issues: issues.map((i) => ({ path: i.path.join('.'), message: i.message })) },
      });
    }
    return new RegionCatalog(r.data);
  }

  get regionIds(): readonly RegionId[] {
    return this.#regionIds;
  }

  hasRegion(id: string): id is RegionId {
    return this.#byId.has(id);
  }

  /** The region; throws MeshError NOT_FOUND for an unknown id. */
  region(id: string): Region {
    const r = this.#byId.get(id);
    if (r === undefined) throw new MeshError('NOT_FOUND', `unknown region ${id}`, { detail: { region: id } });
    return r;
  }

  /** Region whose subnet holds the IPv4 address; undefined for anything else (IPv6, foreign, malformed). */
  regionOf(address: string): RegionId | undefined {
    const n = ipv4ToInt(address);
    if (n === undefined) return undefined;
    return this.#subnets.find((s) => subnetContains(s.subnet, n))?.region;
  }

  /** One-way delay in ms from `a` to `b`; 0 within a region. Throws NOT_FOUND for an unknown region. */
  linkDelay(a: string, b: string): number {
    this.region(a);
    this.region(b);
    if (a === b) return 0;
    const d = this.#links[a]?.[b];
    // Validation guarantees every pair is linked; this guards a catalog built around it.
    if (d === undefined) throw new MeshError('NOT_FOUND', `no link from ${a} to ${b}`, { detail: { from: a, to: b } });
    return d;
  }

  /** The full delay matrix, as the placement policy takes it. */
  linkDelays(): LinkDelayMatrix {
    return this.#links;
  }

  mediaNode(id: string): MediaNodeInfo | undefined {
    return this.#nodes.get(id);
  }

  /** Media nodes of one region, or of every region. */
  mediaNodes(region?: string): readonly MediaNodeInfo[] {
    return region === undefined ? [...this.#nodes.values()] : this.region(region).mediaNodes;
  }

  /** Capabilities the region serves centrally (e.g. record → recording store). */
  centralServicesOf(region: string): readonly MediaCapability[] {
    return this.region(region).centralMedia.services;
  }

  /** The validated specification, e.g. for the operator API. */
  toJSON(): RegionCatalogSpec {
    return this.#spec;
  }
}

function formatIssues(issues: readonly CatalogIssue[]): string {
  return issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`).join('\n');
}

/** Validate a raw object; throws MeshError('CONFIG_INVALID') naming every bad key. */
export function parseRegionCatalog(raw: unknown, source = 'region catalog'): RegionCatalog {
  return RegionCatalog.parse(raw, source);
}

/**
 * Path of the embedded default, `infra/config/regions.json`, found by walking
 * up from this module so it works from the sources (`regions/`) and from the
 * build (`dist/regions/`) alike.
 */
export function defaultRegionsFile(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    const candidate = join(dir, 'infra', 'config', 'regions.json');
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  throw new MeshError('CONFIG_INVALID', 'embedded region catalog infra/config/regions.json not found');
}

/** Load and validate a catalog file: `file`, else $MESH_REGIONS, else the embedded default. */
export function loadRegionCatalog(file?: string, env: NodeJS.ProcessEnv = process.env): RegionCatalog {
  const path = file ?? (env[REGIONS_FILE_ENV] || undefined) ?? defaultRegionsFile();
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new MeshError('CONFIG_INVALID', `cannot read region catalog ${path}: ${(e as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new MeshError('CONFIG_INVALID', `region catalog ${path} is not valid JSON: ${(e as Error).message}`);
  }
  return parseRegionCatalog(raw, `region catalog ${path}`);
}
