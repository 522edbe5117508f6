/**
 * The embedded default's three regions: one signaling-node configuration per
 * region of the catalog (infra/config/regions.json), derived from a base
 * configuration (Redis, timers, static routes, control plane). Each node gets
 * its region's SIP address and media nodes, the other regions' signaling
 * nodes as mesh peers, and the catalog's home-region rules.
 */
import type { RegionCatalog } from '../regions/catalog.js';
import { parseConfig, type Config } from './config.js';

export function regionConfigs(catalog: RegionCatalog, base: Config): Config[] {
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
        peers: catalog.regions.filter((o) => o.id !== r.id).map((o) => ({ region: o.id, address: o.signaling.address, port: o.signaling.port, transport: 'UDP' })),
        homeRules,
      },
    }),
  );
}
