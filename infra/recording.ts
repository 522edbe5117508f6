/**
 * Recording by the home region's central media service (DESIGN.md step 6,
 * third case): the call's media stays on the edge media node, and a branch of
 * the caller's RTP is tunnelled to the home region's central media service,
 * which writes the recording. Branch set-up and completion travel over the
 * region link (protobuf BranchSetup / BranchAck / CallEvent).
 *
 * Not yet: the edge's local copy + upload (media/store/ is built and tested on
 * its own), and recording both parties.
 */
import { CentralMediaService } from '../media/central/service.js';
import { forkBranch, type ForkHandle } from '../media/fork/fork-branch.js';
import type { MediaNodeRegistry } from '../media/registry.js';
import { MeshError } from '../regions/core/errors.js';
import { RegionLinkClient, RegionLinkServer } from '../regions/link/index.js';
import type { Logger } from './log.js';

const LINK_TIMEOUT_MS = 3000;

export interface CentralMediaNode {
  readonly service: CentralMediaService;
  readonly linkPort: number;
  close(): Promise<void>;
}

/** Home side: the central media service, answering branch set-ups and completions over a region link. */
export async function startCentralMediaNode(opts: {
  region: string;
  nodeId: string;
  rtpAddress: string;
  portMin: number;
  portMax: number;
  dataDir: string;
  linkHost: string;
  linkPort: number;
}): Promise<CentralMediaNode> {
  const service = await CentralMediaService.start({ region: opts.region, rtpAddress: opts.rtpAddress, portMin: opts.portMin, portMax: opts.portMax, dataDir: opts.dataDir });
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
        return { type: 'branchAck', value: { branchId: b.branchId, status: 'ACCEPTED', receiveAddress: at.address, receivePort: at.port } };
      }
      if (body.type === 'callEvent' && body.value.type === 'COMPLETED') {
        const branchId = body.value.attributes.branchId ?? '';
        const meta = await service.closeBranch(body.value.callSid, branchId);
        return { type: 'branchAck', value: { branchId, status: 'STORED', checksumSha256: meta.sha256, bytes: meta.bytes } };
      }
      throw new MeshError('BAD_REQUEST', `central media service does not handle ${body.type}`);
    },
  });
  const { port } = await server.listen();
  return {
    service,
    linkPort: port,
    async close() {
      await server.close();
      await service.close();
    },
  };
}

interface ActiveBranch {
  fork: ForkHandle;
  branchId: string;
}

/** Edge side: forks the caller's RTP of recorded calls to the home region's central media service. */
export class BranchRecorder {
  private readonly link: RegionLinkClient;
  private readonly active = new Map<string, ActiveBranch>();
  /** Recordings started and stored (for metrics and tests). */
  readonly counters = { started: 0, stored: 0, failed: 0 };

  constructor(
    private readonly media: MediaNodeRegistry,
    private readonly log: Logger,
    private readonly opts: { region: string; nodeId: string; homeRegion: string; centralHost: string; centralPort: number },
  ) {
    this.link = new RegionLinkClient({ region: opts.region, nodeId: opts.nodeId, host: opts.centralHost, port: opts.centralPort }).start();
  }

  /** Start recording an answered call; failures are logged and counted, never fatal to the call. */
  async start(call: { sid: string; callId: string; callerTag: string; mediaNodeId: string }): Promise<void> {
    const node = this.media.node(call.mediaNodeId);
    if (node === undefined) return;
    const branchId = 'caller';
    try {
      const ack = await this.link.request(
        {
          type: 'branchSetup',
          value: { branchId, callSid: call.sid, edgeRegion: this.opts.region, homeRegion: this.opts.homeRegion, sourceNodeId: call.mediaNodeId, codec: 'PCMU', payloadType: 0, clockRate: 8000, channels: 1 },
        },
        { timeoutMs: LINK_TIMEOUT_MS },
      );
      if (ack.type !== 'branchAck' || ack.value.status !== 'ACCEPTED') throw new MeshError('BAD_GATEWAY', 'central media service refused the branch');
      const fork = await forkBranch(node.client, {
        callId: call.callId,
        fromTags: [call.callerTag],
        targets: [{ address: ack.value.receiveAddress, port: ack.value.receivePort }],
      });
      this.active.set(call.sid, { fork, branchId });
      this.counters.started++;
    } catch (e) {
      this.counters.failed++;
      this.log.warn('recording branch not started', { sid: call.sid, error: e as Error });
    }
  }

  /** Stop the branch of an ended call and have the central service close its recording. */
  async stop(sid: string): Promise<{ checksumSha256: string; bytes: number } | undefined> {
    const b = this.active.get(sid);
    if (b === undefined) return undefined;
    this.active.delete(sid);
    await b.fork.stop().catch(() => {});
    try {
      const ack = await this.link.request(
        { type: 'callEvent', value: { callSid: sid, edgeRegion: this.opts.region, homeRegion: this.opts.homeRegion, type: 'COMPLETED', atMs: Date.now(), attributes: { branchId: b.branchId } } },
        { timeoutMs: LINK_TIMEOUT_MS, queueWhileDown: true },
      );
      if (ack.type === 'branchAck' && ack.value.status === 'STORED') {
        this.counters.stored++;
        return { checksumSha256: ack.value.checksumSha256, bytes: ack.value.bytes };
      }
    } catch (e) {
      this.counters.failed++;
      this.log.warn('recording branch not closed', { sid, error: e as Error });
    }
    return undefined;
  }

  async close(): Promise<void> {
    for (const sid of [...this.active.keys()]) await this.stop(sid);
    await this.link.close();
  }
}
