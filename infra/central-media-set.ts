/**
 * `make start`: the central media service (recording store) of every catalog
 * region that records centrally (`centralMedia.services` has `record`), each
 * announced in discovery (`announceCentralMedia`). The home side of
 * recording; edges reach it as `recording.central(s)` (region-configs.ts).
 *
 * Per region, on the catalog's `centralMedia.address`:
 *
 *   | what | port | relayed between regions (link-delays.ts) |
 *   |---|---|---|
 *   | region link (branch set-up / completion, protobuf over TCP) | `centralMedia.port` (8090) | `region-link` |
 *   | HTTP upload of edges' local copies | `CENTRAL_MEDIA_HTTP_PORT` (8091) | `central-upload` |
 *   | branch RTP, one even port per branch | `CENTRAL_MEDIA_RTP_PORTS` (61000–61255) | `central-rtp` |
 *
 * The RTP range is on the service's own address, apart from the rtpengine
 * ranges of regions.json (30000–59999) and above Linux's ephemeral ports
 * (32768–60999), so no relay's source socket (port 0, on the entry
 * addresses) can take a port a relay must listen on. 128 even ports: at most
 * 128 branches at once per region.
 *
 * With a link plan, what a service tells an edge of another region points at
 * that region's relay entry: the branch's receive address (`relayFor`) and
 * the upload URL (the edge's view of this region), so branch RTP, region link
 * and upload all carry the emulated delay.
 */
import { join } from 'node:path';
import type { Region } from '../regions/catalog.js';
import type { DiscoveryRegistrar } from '../regions/discovery/registrar.js';
import { reachAddress, relayFor, type LinkRelayPlan } from './link-delays.js';
import type { Logger } from '../regions/core/log.js';
import { announceCentralMedia } from './node-discovery.js';
import { startCentralMediaNode, type CentralMediaNode } from '../media/central/central-media-node.js';

/** HTTP port of every central media service's upload endpoint in the embedded default. */
export const CENTRAL_MEDIA_HTTP_PORT = 8091;
/** UDP ports of branch RTP of every central media service in the embedded default (even ones used). */
export const CENTRAL_MEDIA_RTP_PORTS: { readonly min: number; readonly max: number } = { min: 61000, max: 61255 };

export interface CentralMediaSetOptions {
  /** Catalog regions; those whose central media services include `record` get a service. */
  regions: readonly Region[];
  /** The link relay plan (planned with the same `httpPort` and `rtpPorts`); none: edges reach services directly. */
  links: LinkRelayPlan | undefined;
  /** Recordings go to `<dataDir>/<region>/`. */
  dataDir: string;
  /** Where the services are announced; none: not announced. */
  registrar?: DiscoveryRegistrar;
  log: Logger;
  /** Default CENTRAL_MEDIA_HTTP_PORT. */
  httpPort?: number;
  /** Default CENTRAL_MEDIA_RTP_PORTS. */
  rtpPorts?: { min: number; max: number };
}

export interface RunningCentralMedia {
  readonly region: string;
  readonly nodeId: string;
  /** The catalog's `centralMedia.address`: region link, upload endpoint and branch RTP. */
  readonly address: string;
  readonly node: CentralMediaNode;
}

export interface CentralMediaSet {
  readonly services: readonly RunningCentralMedia[];
  /** Withdraw the announcements, finish open branches, close every service. Idempotent. */
  close(): Promise<void>;
}

/** Start every region's service; all or nothing (when one cannot bind, the ones up are closed and the error names the region). */
export async function startCentralMediaSet(opts: CentralMediaSetOptions): Promise<CentralMediaSet> {
  const httpPort = opts.httpPort ?? CENTRAL_MEDIA_HTTP_PORT;
  const rtp = opts.rtpPorts ?? CENTRAL_MEDIA_RTP_PORTS;
  const services: RunningCentralMedia[] = [];
  const withdraws: (() => Promise<void>)[] = [];
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      await Promise.allSettled(withdraws.map((w) => w()));
      await Promise.allSettled(services.map((s) => s.node.close()));
    })());

  try {
    for (const r of opts.regions) {
      if (!r.centralMedia.services.includes('record')) continue;
      const nodeId = `${r.id}-central-1`;
      const address = r.centralMedia.address;
      const links = opts.links;
      let node: CentralMediaNode;
      try {
        node = await startCentralMediaNode({
          region: r.id,
          nodeId,
          rtpAddress: address,
          portMin: rtp.min,
          portMax: rtp.max,
          dataDir: join(opts.dataDir, r.id),
          linkHost: address,
          linkPort: r.centralMedia.port,
          httpPort,
          // Each edge region reaches the upload endpoint and the branch's port through its own relay entry.
          uploadUrl: (edgeRegion) => `http://${reachAddress(links, edgeRegion, r.id, address)}:${httpPort}`,
          rtpPath: async ({ edgeRegion }, at) => (edgeRegion === r.id ? at : (relayFor(links, edgeRegion, at) ?? at)),
        });
      } catch (e) {
        throw new Error(`central media service of ${r.id} on ${address}: ${(e as Error).message}`, { cause: e });
      }
      services.push({ region: r.id, nodeId, address, node });
      opts.log.info('central media service up', { region: r.id, nodeId, link: `${address}:${node.linkPort}`, upload: node.uploadUrl, rtp: `${rtp.min}-${rtp.max}` });
      if (opts.registrar !== undefined) {
        withdraws.push(announceCentralMedia(opts.registrar, { region: r.id, nodeId, linkHost: address, linkPort: node.linkPort, uploadUrl: node.uploadUrl }));
      }
    }
  } catch (e) {
    await close();
    throw e;
  }
  return { services, close };
}
