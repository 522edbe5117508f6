/**
 * The embedded default's three regions: one signaling-node configuration per
 * region of the catalog (infra/config/regions.json), derived from a base
 * configuration (Redis, timers, static routes, control plane). Each node gets
 * its region's SIP address and media nodes, the other regions' signaling
 * nodes as mesh peers, and the catalog's home-region rules.
 *
 * With a link relay plan (`link-delays.ts`) a node reaches every other region
 * through that region's relay entry in its own subnet instead of directly, so
 * the emulated link delay lies on the call path: mesh peers and the home
 * region's central media service (`recording.central`) are rewritten to it.
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
      },
      recording: recordingFor(catalog, base, r.id, links),
    }),
  );
}

/** The base's recording settings, with the central media service reached through the link relay from `region`. */
function recordingFor(catalog: RegionCatalog, base: Config, region: string, links: LinkRelayPlan | undefined): Config['recording'] {
  const central = base.recording.central;
  if (central === undefined || !catalog.hasRegion(central.region)) return base.recording;
  const home = catalog.region(central.region).centralMedia;
  // Only the catalog's own central service has a relay; any other address is left as configured.
  if (central.address !== home.address || central.port !== home.port) return base.recording;
  return { ...base.recording, central: { ...central, address: reachAddress(links, region, central.region, central.address) } };
}
