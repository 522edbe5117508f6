/**
 * Home side of recording across regions: the central media service of a home
 * region, answering branch set-ups (BranchSetup → BranchAck ACCEPTED with the
 * RTP address and the HTTP upload URL) and completions (CallEvent COMPLETED →
 * BranchAck STORED with the live copy's checksum) over a region link. The
 * edge side is `EdgeBranchRecorder` (media/edge-recording/).
 */
import { MeshError } from '../../regions/core/errors.js';
import { RegionLinkServer } from '../../regions/link/index.js';
import type { ForkTarget } from '../fork/fork-branch.js';
import { CentralMediaService } from './service.js';

export interface CentralMediaNode {
  readonly service: CentralMediaService;
  readonly linkPort: number;
  /** The upload URL given to edges of the service's own region (and announced in discovery). */
  readonly uploadUrl: string;
  close(): Promise<void>;
}

export interface CentralMediaNodeOptions {
  region: string;
  nodeId: string;
  rtpAddress: string;
  portMin: number;
  portMax: number;
  dataDir: string;
  linkHost: string;
  linkPort: number;
  /** HTTP port of the upload endpoint (on rtpAddress). Default 0 (any free one). */
  httpPort?: number;
  /**
   * Upload URL named to edges in BranchAck, e.g. the near end of an
   * inter-region relay; a function gets the edge's region (from its
   * BranchSetup), since each region reaches the service through its own
   * relay. Default: the service's own URL.
   */
  uploadUrl?: string | ((edgeRegion: string) => string);
  /**
   * Where edges send a branch's RTP, given where the service receives it: the
   * hook for an inter-region media path (e.g. a UdpDelayRelay in front of the
   * branch's port, or the link relay the edge's region reaches it by, found
   * with `relayFor(plan, edgeRegion, at)`). Default: the receiving address itself.
   */
  rtpPath?: (branch: { callSid: string; branchId: string; edgeRegion: string }, at: ForkTarget) => Promise<ForkTarget>;
}

/** Home side: the central media service, answering branch set-ups and completions over a region link. */
export async function startCentralMediaNode(opts: CentralMediaNodeOptions): Promise<CentralMediaNode> {
  const service = await CentralMediaService.start({
    region: opts.region,
    rtpAddress: opts.rtpAddress,
    portMin: opts.portMin,
    portMax: opts.portMax,
    dataDir: opts.dataDir,
    ...(opts.httpPort === undefined ? {} : { httpPort: opts.httpPort }),
  });
  const configured = opts.uploadUrl;
  const uploadUrlFor = (edgeRegion: string): string => (configured === undefined ? service.url : typeof configured === 'string' ? configured : configured(edgeRegion));
  // The URL of the service's own region (what discovery announces).
  const uploadUrl = uploadUrlFor(opts.region);
  const server = new RegionLinkServer({
    region: opts.region,
    nodeId: opts.nodeId,
    host: opts.linkHost,
    port: opts.linkPort,
    onRequest: async (body) => {
      if (body.type === 'branchSetup') {
        const b = body.value;
        const codec = b.codec === 'PCMA' ? 'PCMA' : 'PCMU';
        const at = await service.openBranch({ callSid: b.callSid, branchId: b.branchId, codec });
        let to: ForkTarget;
        let url: string;
        try {
          to = opts.rtpPath === undefined ? at : await opts.rtpPath({ callSid: b.callSid, branchId: b.branchId, edgeRegion: b.edgeRegion }, at);
          url = uploadUrlFor(b.edgeRegion);
        } catch (e) {
          // No path to the edge: free the port rather than record silence until the idle timeout.
          await service.closeBranch(b.callSid, b.branchId).catch(() => undefined);
          throw e;
        }
        return { type: 'branchAck', value: { branchId: b.branchId, status: 'ACCEPTED', receiveAddress: to.address, receivePort: to.port, uploadUrl: url } };
      }
      if (body.type === 'callEvent' && body.value.type === 'COMPLETED') {
        const branchId = body.value.attributes.branchId ?? '';
        const meta = await service.closeBranch(body.value.callSid, branchId);
        return { type: 'branchAck', value: { branchId, status: 'STORED', checksumSha256: meta.sha256, bytes: meta.bytes } };
      }
      throw new MeshError('BAD_REQUEST', `central media service does not handle ${body.type}`);
    },
  });
  let port: number;
  try {
    ({ port } = await server.listen());
  } catch (e) {
    await service.close();
    throw e;
  }
  return {
    service,
    linkPort: port,
    uploadUrl,
    async close() {
      await server.close();
      await service.close();
    },
  };
}
