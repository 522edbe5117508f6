/**
 * Which central media service records a call, from a node's configuration:
 * wiring for the edge's recorder (media/edge-recording/).
 */
import type { CentralEndpoint } from '../media/edge-recording/index.js';
import type { Config } from './config.js';
import { staticMeshRouting } from '../signaling/b2bua/mesh.js';

/**
 * The central media services a node's configuration names (`recording.central`
 * and `recording.centrals`) and which one records a dialed number: the one of
 * its home region (`mesh.homeRules`, longest prefix; no rule: this node's
 * region), else `recording.central`'s.
 */
export function recordingCentrals(config: Config): { centrals: CentralEndpoint[]; centralFor: (dialed: string) => string | undefined } {
  const rec = config.recording;
  const all = [...(rec.central === undefined ? [] : [rec.central]), ...rec.centrals];
  const centrals = all.map((c) => ({ region: c.region, host: c.address, port: c.port }));
  const regions = new Set(centrals.map((c) => c.region));
  const homeRegionOf = staticMeshRouting({ region: config.region, peers: config.mesh.peers, homeRules: config.mesh.homeRules }).homeRegionOf;
  return {
    centrals,
    centralFor: (dialed) => {
      const home = homeRegionOf(dialed) ?? config.region;
      return regions.has(home) ? home : rec.central?.region;
    },
  };
}
