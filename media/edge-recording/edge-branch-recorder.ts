/**
 * Recording by the home region's central media service (DESIGN.md step 6,
 * third case): the call's media stays on the edge media node, and a branch of
 * the caller's RTP is tunnelled to the home region's central media service,
 * which writes the recording. Branch set-up and completion travel over the
 * region link (protobuf BranchSetup / BranchAck / CallEvent).
 *
 * The edge also keeps its own copy (issue 3, Deliver 5 and Failover (c)): a
 * second rtpengine subscription of the same source goes to the edge's local
 * media store for as long as the call lasts. When the call ends the local
 * copy is finished and queued (persistent manifest) for upload over HTTP to
 * the central service's upload endpoint, which the service names in its
 * BranchAck; the uploader retries with backoff until the service confirms
 * the same SHA-256, and retries at once whenever the region link comes back.
 * A link cut therefore costs the live copy a gap but loses nothing: the
 * central service treats the confirmed upload as the recording
 * (media/central/recording.ts).
 *
 * Usage: each branch counts once as `media-branches` (usage.ts).
 * The home side is `startCentralMediaNode` (media/central/central-media-node.ts).
 *
 * Not yet: recording both parties; a local copy when the link is already
 * down at answer and no central service has named its upload URL since start.
 */
import { MeshError } from '../../regions/core/errors.js';
import type { Logger } from '../../regions/core/log.js';
import { RegionLinkClient } from '../../regions/link/index.js';
import type { BranchMetadata } from '../central/metadata.js';
import { forkBranch, type ForkHandle, type ForkTarget } from '../fork/fork-branch.js';
import type { MediaEngine } from '../engine/types.js';
import type { MediaNodeRegistry } from '../nodes/registry.js';
import { LocalMediaStore } from '../store/local-store.js';
import type { UploadEntry } from '../store/manifest.js';
import { BranchDeliveries } from './deliveries.js';
import type { CentralEndpoint, DeliveredBranch, EdgeBranchRecorderOptions, StoppedBranch } from './types.js';
import { BranchUsage } from './usage.js';

const LINK_TIMEOUT_MS = 3000;

/** One central media service and the region link to it. */
interface CentralLink {
  readonly endpoint: CentralEndpoint;
  readonly client: RegionLinkClient;
  /** The upload URL it last named (for branches set up while its link is down). */
  lastUploadUrl: string | undefined;
}

interface ActiveBranch {
  branchId: string;
  central: CentralLink;
  /** Settles when start() is done (stop() waits for it, so a short call cannot outrun its set-up). */
  ready: Promise<void>;
  forks: ForkHandle[];
  live: boolean;
  local: boolean;
  accountSid: string | undefined;
}

/**
 * Edge side: forks the caller's RTP of recorded calls to the home region's central media service and to the local store.
 * (Not media/central's BranchRecorder, which writes one branch's WAV where the RTP arrives.)
 */
export class EdgeBranchRecorder {
  private readonly links = new Map<string, CentralLink>();
  private readonly active = new Map<string, ActiveBranch>();
  private readonly store: Promise<LocalMediaStore | undefined>;
  private readonly deliveries = new BranchDeliveries();
  private readonly usage: BranchUsage;
  private closing: Promise<void> | undefined;
  /** started: branches forked; stored: live copies closed; failed: set-ups or closes that failed (live or both); local: local copies queued; delivered: uploads confirmed. */
  readonly counters = { started: 0, stored: 0, failed: 0, local: 0, delivered: 0 };

  constructor(
    private readonly media: MediaNodeRegistry,
    private readonly log: Logger,
    private readonly opts: EdgeBranchRecorderOptions,
  ) {
    this.usage = new BranchUsage(opts.region, log, opts.usage);
    const regions = opts.centrals.map((c) => c.region);
    if (regions.length === 0) throw new MeshError('CONFIG_INVALID', 'branch recorder: no central media service');
    const twice = regions.find((r, i) => regions.indexOf(r) !== i);
    if (twice !== undefined) throw new MeshError('CONFIG_INVALID', `branch recorder: two central media services for region ${twice}`);
    this.store = this.startStore();
    for (const endpoint of opts.centrals) {
      const client = new RegionLinkClient({
        region: opts.region,
        nodeId: opts.nodeId,
        host: endpoint.host,
        port: endpoint.port,
        backoff: opts.linkBackoff ?? { initialMs: 100, maxMs: 2000, factor: 2, jitter: 0.2 },
      }).start();
      // The link is back, so the home region is reachable again: deliver what waits now, not after the backoff.
      client.on('connected', () => void this.store.then((s) => s?.uploader.retryNow()));
      this.links.set(endpoint.region, { endpoint, client, lastUploadUrl: undefined });
    }
  }

  /** The local media store once started (undefined when not configured or it failed to start). */
  localStore(): Promise<LocalMediaStore | undefined> {
    return this.store;
  }

  /** Start recording an answered call; failures are logged and counted, never fatal to the call. */
  start(call: { sid: string; to: string; callId: string; callerTag: string; mediaNodeId: string }): Promise<void> {
    if (this.closing !== undefined || this.active.has(call.sid)) return Promise.resolve();
    // The region holding the media records it: a call anchored here with its media elsewhere
    // (forwarded by an edge, or placed on another region's node) is recorded there, or not at all.
    if (this.media.node(call.mediaNodeId) === undefined) {
      this.log.debug('recording left to the region holding the media', { sid: call.sid, mediaNodeId: call.mediaNodeId });
      return Promise.resolve();
    }
    const region = this.opts.centralFor === undefined ? this.opts.centrals[0]?.region : this.opts.centralFor(call.to);
    const central = region === undefined ? undefined : this.links.get(region);
    if (central === undefined) {
      this.counters.failed++;
      this.log.warn('recording branch not started: no central media service for the number', { sid: call.sid, to: call.to, region });
      return Promise.resolve();
    }
    const b: ActiveBranch = { branchId: 'caller', central, ready: Promise.resolve(), forks: [], live: false, local: false, accountSid: undefined };
    b.ready = this.setUp(call, b).catch((e: unknown) => {
      this.counters.failed++;
      this.log.warn('recording branch not started', { sid: call.sid, error: e as Error });
    });
    this.active.set(call.sid, b);
    return b.ready;
  }

  /** Stop the branch of an ended call: close the live copy at the central service, finish and queue the local copy. */
  async stop(sid: string): Promise<StoppedBranch | undefined> {
    const b = this.active.get(sid);
    if (b === undefined) return undefined;
    this.active.delete(sid);
    await b.ready;
    await Promise.allSettled(b.forks.map((f) => f.stop()));
    const [local, live] = await Promise.all([b.local ? this.finishLocal(sid, b) : undefined, b.live ? this.closeLive(sid, b) : undefined]);
    return { ...(live === undefined ? {} : { live }), ...(local === undefined ? {} : { local }) };
  }

  /** Resolves when the central service confirmed this edge's upload of a branch (seen by this process), or rejects after timeoutMs. */
  whenDelivered(callSid: string, branchId = 'caller', timeoutMs = 60_000): Promise<DeliveredBranch> {
    return this.deliveries.whenDelivered(callSid, branchId, timeoutMs);
  }

  /** Stop every branch, close the link and the store (its manifest keeps what is not delivered yet). Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.deliveries.refuseNew();
      await Promise.all([...this.active.keys()].map((sid) => this.stop(sid)));
      await Promise.all([...this.links.values()].map((l) => l.client.close()));
      await (await this.store)?.close();
      this.deliveries.close();
    })();
    return this.closing;
  }

  // ------------------------------------------------------------ internals

  private async startStore(): Promise<LocalMediaStore | undefined> {
    const ls = this.opts.localStore;
    if (ls === undefined) return undefined;
    try {
      return await LocalMediaStore.start({
        region: this.opts.region,
        rtpAddress: ls.rtpAddress,
        portMin: ls.portMin ?? 40_000,
        portMax: ls.portMax ?? 40_999,
        dir: ls.dir,
        upload: { ...ls.upload, onDelivered: (e) => this.onUploadDelivered(e) },
      });
    } catch (e) {
      this.log.error('local media store not started: branches are recorded live only', { dir: ls.dir, error: e as Error });
      return undefined;
    }
  }

  /**
   * The local copy does not wait for the region link: its subscription starts
   * at once, beside the branch set-up, so it covers the call from answer (the
   * live branch starts a link round trip later). Where it will be uploaded
   * (the URL in the BranchAck) and who is billed are filled in once known.
   */
  private async setUp(call: { sid: string; to: string; callId: string; callerTag: string; mediaNodeId: string }, b: ActiveBranch): Promise<void> {
    const node = this.media.node(call.mediaNodeId);
    if (node === undefined) throw new MeshError('NOT_FOUND', `media node ${call.mediaNodeId} is unknown`);
    const store = await this.store;
    const account = this.usage.accountOf(call.to);
    const localFork = store === undefined ? Promise.resolve(undefined) : this.forkLocal(store, node.engine, call, b);
    const liveFork = this.setUpLive(call, b, store !== undefined).then((target) =>
      target === undefined ? undefined : forkBranch(node.engine, { callId: call.callId, fromTags: [call.callerTag], targets: [target] }),
    );
    const [live, local, accountSid] = await Promise.all([
      liveFork.then((f) => ({ ok: true as const, f }), (e: unknown) => ({ ok: false as const, e })),
      localFork.then((f) => ({ ok: true as const, f }), (e: unknown) => ({ ok: false as const, e })),
      account,
    ]);
    b.accountSid = accountSid;
    if (live.ok && live.f !== undefined) {
      b.forks.push(live.f);
      b.live = true;
    } else if (!live.ok) {
      this.log.warn('live recording branch not forked', { sid: call.sid, error: live.e as Error });
    }
    if (local.ok && local.f !== undefined && store !== undefined) {
      b.forks.push(local.f);
      const centralUrl = b.central.lastUploadUrl;
      if (centralUrl === undefined) {
        // No central service has named its upload endpoint yet (the link has been down since start): nowhere to deliver to.
        await local.f.stop().catch(() => undefined);
        await store.discardBranch(call.sid, b.branchId);
        this.log.warn('local copy of the recording branch dropped: no upload URL known yet', { sid: call.sid });
      } else {
        store.setUploadTarget(call.sid, b.branchId, { centralUrl, accountSid });
        b.local = true;
      }
    } else if (!local.ok) {
      this.log.warn('local copy of the recording branch not started', { sid: call.sid, error: local.e as Error });
    }
    if (!b.live && !b.local) throw new MeshError('BAD_GATEWAY', 'neither the live branch nor the local copy could be started');
    this.counters.started++;
  }

  /** BranchSetup over the region link; where to send the live branch, or undefined when the link is down or the service refuses. */
  private async setUpLive(call: { sid: string; mediaNodeId: string }, b: ActiveBranch, storeLocally: boolean): Promise<ForkTarget | undefined> {
    try {
      const ack = await b.central.client.request(
        {
          type: 'branchSetup',
          value: {
            branchId: b.branchId,
            callSid: call.sid,
            edgeRegion: this.opts.region,
            homeRegion: b.central.endpoint.region,
            sourceNodeId: call.mediaNodeId,
            codec: 'PCMU',
            payloadType: 0,
            clockRate: 8000,
            channels: 1,
            storeLocally,
          },
        },
        { timeoutMs: LINK_TIMEOUT_MS },
      );
      if (ack.type !== 'branchAck' || ack.value.status !== 'ACCEPTED') throw new MeshError('BAD_GATEWAY', 'central media service refused the branch');
      if (ack.value.uploadUrl !== '') b.central.lastUploadUrl = ack.value.uploadUrl;
      return { address: ack.value.receiveAddress, port: ack.value.receivePort };
    } catch (e) {
      // A link that is down fails fast (no queueing): the local copy goes ahead alone.
      this.counters.failed++;
      this.log.warn('live recording branch not set up', { sid: call.sid, error: e as Error });
      return undefined;
    }
  }

  private async forkLocal(store: LocalMediaStore, engine: MediaEngine, call: { sid: string; callId: string; callerTag: string }, b: ActiveBranch): Promise<ForkHandle> {
    const at = await store.openBranch({ callSid: call.sid, branchId: b.branchId, codec: 'PCMU', centralUrl: b.central.lastUploadUrl });
    try {
      return await forkBranch(engine, { callId: call.callId, fromTags: [call.callerTag], targets: [at] });
    } catch (e) {
      // Nothing will arrive: drop the empty copy rather than upload it.
      await store.discardBranch(call.sid, b.branchId).catch(() => undefined);
      throw e;
    }
  }

  private async finishLocal(sid: string, b: ActiveBranch): Promise<BranchMetadata | undefined> {
    const store = await this.store;
    if (store === undefined) return undefined;
    try {
      const meta = await store.finishBranch(sid, b.branchId);
      this.counters.local++;
      // Failures for good (e.g. the central holds a different copy) need an operator; the manifest keeps them.
      void store.uploader.whenSettled(sid, b.branchId).then((o) => {
        if (!o.delivered) this.log.error('recording branch upload failed for good', { sid, branchId: b.branchId, error: o.error });
      });
      return meta;
    } catch (e) {
      this.log.warn('local copy of the recording branch not finished', { sid, error: e as Error });
      return undefined;
    }
  }

  private async closeLive(sid: string, b: ActiveBranch): Promise<{ checksumSha256: string; bytes: number } | undefined> {
    try {
      const ack = await b.central.client.request(
        { type: 'callEvent', value: { callSid: sid, edgeRegion: this.opts.region, homeRegion: b.central.endpoint.region, type: 'COMPLETED', atMs: Date.now(), attributes: { branchId: b.branchId } } },
        { timeoutMs: LINK_TIMEOUT_MS, queueWhileDown: true },
      );
      if (ack.type === 'branchAck' && ack.value.status === 'STORED') {
        this.counters.stored++;
        // Without a local copy, the live copy is all there is: account for it now.
        if (!b.local) await this.usage.record(b.accountSid, sid, b.branchId, ack.value.bytes);
        return { checksumSha256: ack.value.checksumSha256, bytes: ack.value.bytes };
      }
    } catch (e) {
      // The link is down: the central service finishes the live copy by itself (idle, or when the upload arrives).
      this.log.warn('live recording branch not closed', { sid, local: b.local, error: e as Error });
    }
    return undefined;
  }

  /** Awaited by the uploader before the entry leaves the queue: a failed usage write keeps it queued. */
  private async onUploadDelivered(e: UploadEntry): Promise<void> {
    await this.usage.record(e.accountSid, e.callSid, e.branchId, e.bytes);
    this.counters.delivered++;
    this.deliveries.confirm({ callSid: e.callSid, branchId: e.branchId, sha256: e.sha256, at: Date.now() });
  }
}
