/**
 * The embedded default's three regions: one signaling-node configuration per
 * region of the catalog (infra/config/regions.json), derived from a base
 * configuration (Redis, timers, static routes, control plane). Each node gets
 * its region's SIP address and media nodes, the other regions' signaling
 * nodes as mesh peers, and the catalog's home-region rules.
 *
 * With a link relay plan (`link-delays.ts`) a node reaches every other region
 * through that region's relay entry in its own subnet instead of directly, so
 * the emulated link delay lies on the call path: mesh peers and the central
 * media services (`recording.central`, `recording.centrals`) are rewritten to
 * it. `mesh.linkDelaysMs` is the catalog's row of the region (placement uses
 * it for media nodes of other regions), and every catalog region's central
 * media service is added to `recording.centrals`.
 */
import type { RegionCatalog } from '../regions/catalog.js';
import { parseConfig, type Config } from './config.js';
import { reachAddress, type LinkRelayPlan } from './link-delays.js';

export function regionConfigs(catalog: RegionCatalog, base: Config, links?: LinkRelayPlan): Config[] {
  const homeRules = catalog.homeRegionRules.list().map((r) => ({ prefix: r.prefix, region: r.homeRegion }));
  return catalog.regions.map((r) =>
    parseConfig({
      ...base,
      region: r.id,
      nodeId: `${r.id}-sig-1`,
      sip: { ...base.sip, address: r.signaling.address, port: r.signaling.port },
      media: {
        ...base.media,
        nodes: r.mediaNodes.map((n) => ({ id: n.id, address: n.address, ngPort: n.ngPort, rtpPortMin: n.rtpPortMin, rtpPortMax: n.rtpPortMax, capabilities: [...n.capabilities] })),
      },
      mesh: {
        ...base.mesh,
        peers: catalog.regions
          .filter((o) => o.id !== r.id)
          .map((o) => ({ region: o.id, address: reachAddress(links, r.id, o.id, o.signaling.address), port: o.signaling.port, transport: 'UDP' })),
        homeRules,
        linkDelaysMs: { ...(catalog.linkDelays()[r.id] ?? {}) },
        linkMatrixMs: catalog.linkDelays(),
      },
      recording: recordingFor(catalog, base, r.id, links),
    }),
  );
}

/**
 * The base's recording settings as seen from `region`: a configured central
 * service that is the catalog's own is reached through the link relay, and
 * every other catalog region recording centrally (`centralMedia.services`
 * has `record`) is added to `centrals` (make start runs them all), so a
 * number is recorded by its home region's service. Central services at
 * addresses the catalog does not know are left as configured.
 */
function recordingFor(catalog: RegionCatalog, base: Config, region: string, links: LinkRelayPlan | undefined): Config['recording'] {
  const reach = (c: { region: string; address: string; port: number }): { region: string; address: string; port: number } => {
    if (!catalog.hasRegion(c.region)) return c;
    const home = catalog.region(c.region).centralMedia;
    // Only the catalog's own central service has a relay; any other address is left as configured.
    if (c.address !== home.address || c.port !== home.port) return c;
    return { ...c, address: reachAddress(links, region, c.region, c.address) };
  };
  const central = base.recording.central === undefined ? undefined : reach(base.recording.central);
  const configured = base.recording.centrals.map(reach);
  const named = new Set([...(central === undefined ? [] : [central.region]), ...configured.map((c) => c.region)]);
  const fromCatalog = catalog.regions
    .filter((r) => !named.has(r.id) && r.centralMedia.services.includes('record'))
    .map((r) => reach({ region: r.id, address: r.centralMedia.address, port: r.centralMedia.port }));
  return { ...base.recording, ...(central === undefined ? {} : { central }), centrals: [...configured, ...fromCatalog] };
}
