/** The B2BUA's MeshRouting from configuration (`mesh.peers`, `mesh.homeRules`). */
import type { MeshRouting } from '../signaling/b2bua/mesh.js';
import type { Config } from './config.js';

export function meshRouting(config: Config): MeshRouting {
  const rules = [...config.mesh.homeRules].sort((a, b) => b.prefix.length - a.prefix.length);
  const peers = config.mesh.peers;
  return {
    region: config.region,
    homeRegionOf: (dialed) => rules.find((r) => dialed.startsWith(r.prefix))?.region,
    signalingUri: (region) => {
      const p = peers.find((x) => x.region === region);
      return p === undefined ? undefined : `sip:${p.address}:${p.port}${p.transport === 'TCP' ? ';transport=tcp' : ''}`;
    },
    peerRegionOf: (address) => peers.find((p) => p.address === address)?.region,
  };
}
