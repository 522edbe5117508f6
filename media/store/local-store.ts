/**
 * The edge's local copy of media branches: while a call lasts, a second
 * fork of the branch (a second rtpengine subscription of the same source)
 * arrives here and is recorded to WAV under `dir`, exactly as the central
 * service records the live copy; when the branch finishes, the copy is
 * queued for upload to the home region's central media service. Nothing
 * depends on the region link during the call, so a cut link loses nothing.
 *
 * Layout: `<dir>/<callSid>/<branchId>.live.{wav,json}` and the upload
 * manifest `<dir>/upload-manifest.json`.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { MeshError } from '../../regions/core/errors.js';
import { BranchRecorder } from '../central/branch-recorder.js';
import type { G711Codec } from '../central/g711.js';
import { assertBranchKey, branchPaths, type BranchMetadata } from '../central/metadata.js';
import { UdpPortPool } from '../central/port-pool.js';
import { BranchUploader, type UploaderOptions } from './uploader.js';

export interface LocalMediaStoreOptions {
  /** Region of this edge (written into local metadata). */
  region: string;
  /** Address the local fork is received on. */
  rtpAddress: string;
  portMin: number;
  portMax: number;
  /** Folder of local copies and the upload manifest. */
  dir: string;
  /** Central media service for branches opened without their own `centralUrl`, e.g. http://127.0.1.30:8090. Default none. */
  centralUrl?: string;
  /** Branches stored at once. Default 256. */
  maxBranches?: number;
  /** Longest recording, s. Default 14400. */
  maxDurationSec?: number;
  /** A branch without packets this long finishes by itself. Default 60000 ms. */
  idleTimeoutMs?: number;
  /** Passed to the uploader (timeouts, backoff, queue bound, deleteAfterUpload). */
  upload?: Omit<UploaderOptions, 'centralUrl' | 'manifestPath'>;
}

/** Where a branch's copy goes once finished, and who is billed for it. */
export interface UploadTarget {
  /** The home region's central service. Default: the store's centralUrl. */
  centralUrl?: string | undefined;
  /** Account the branch is billed to, kept with the queued upload. */
  accountSid?: string | undefined;
}

export interface OpenLocalBranchRequest extends UploadTarget {
  callSid: string;
  branchId: string;
  codec: G711Codec;
}

export class LocalMediaStore {
  private readonly branches = new Map<string, BranchRecorder>();
  /** Where each open branch's copy goes once finished. */
  private readonly targets = new Map<string, UploadTarget>();
  /** Branches being dropped without upload (their fork never started). */
  private readonly discarding = new Set<string>();
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly opts: LocalMediaStoreOptions,
    private readonly ports: UdpPortPool,
    /** The uploader of finished copies (exposed for whenSettled/list). */
    readonly uploader: BranchUploader,
  ) {}

  static async start(opts: LocalMediaStoreOptions): Promise<LocalMediaStore> {
    await mkdir(opts.dir, { recursive: true });
    const uploader = await BranchUploader.start({
      ...opts.upload,
      ...(opts.centralUrl === undefined ? {} : { centralUrl: opts.centralUrl }),
      manifestPath: join(opts.dir, 'upload-manifest.json'),
    });
    return new LocalMediaStore(opts, new UdpPortPool(opts.rtpAddress, opts.portMin, opts.portMax), uploader);
  }

  /** Branches being stored now. */
  get openBranches(): number {
    return this.branches.size;
  }

  /** Start storing a branch; fork its RTP to the returned address. */
  async openBranch(req: OpenLocalBranchRequest): Promise<{ address: string; port: number }> {
    if (this.closing !== undefined) throw new MeshError('CLOSED', 'local media store is closed');
    assertBranchKey(req.callSid, req.branchId);
    // The target may still be unknown (the home region names its upload URL when the branch is set up,
    // which may finish after the local copy started): setUploadTarget() fills it in before the call ends.
    const target: UploadTarget = { centralUrl: req.centralUrl, accountSid: req.accountSid };
    const key = `${req.callSid}/${req.branchId}`;
    if (this.branches.has(key)) throw new MeshError('CONFLICT', `branch ${key} is already being stored`);
    if (this.branches.size >= (this.opts.maxBranches ?? 256)) throw new MeshError('SERVICE_UNAVAILABLE', `local store holds ${this.branches.size} open branches`, { retryAfter: 1 });
    const socket = await this.ports.bind();
    try {
      const recorder = await BranchRecorder.open({
        callSid: req.callSid,
        branchId: req.branchId,
        codec: req.codec,
        region: this.opts.region,
        dataDir: this.opts.dir,
        socket,
        ...(this.opts.maxDurationSec === undefined ? {} : { maxDurationSec: this.opts.maxDurationSec }),
        ...(this.opts.idleTimeoutMs === undefined ? {} : { idleTimeoutMs: this.opts.idleTimeoutMs }),
        // However the branch ends (finishBranch or idle timeout), its copy is queued for upload.
        onFinished: (meta) => {
          this.branches.delete(key);
          this.targets.delete(key);
          if (meta !== undefined && !this.discarding.has(key)) void this.enqueue(meta, target).catch(() => undefined);
        },
      });
      this.branches.set(key, recorder);
      this.targets.set(key, target);
      return { address: this.opts.rtpAddress, port: socket.address().port };
    } catch (e) {
      socket.close();
      throw e;
    }
  }

  /** Name (or change) where an open branch's copy goes and who is billed; fields left undefined are kept. */
  setUploadTarget(callSid: string, branchId: string, t: UploadTarget): void {
    const target = this.targets.get(`${callSid}/${branchId}`);
    if (target === undefined) throw new MeshError('NOT_FOUND', `no open branch ${callSid}/${branchId}`);
    if (t.centralUrl !== undefined) target.centralUrl = t.centralUrl;
    if (t.accountSid !== undefined) target.accountSid = t.accountSid;
  }

  /** The call ended: finish the local WAV and queue it for upload; resolves with its metadata. */
  async finishBranch(callSid: string, branchId: string): Promise<BranchMetadata> {
    const key = `${callSid}/${branchId}`;
    const r = this.branches.get(key);
    const target = this.targets.get(key);
    if (r === undefined || target === undefined) throw new MeshError('NOT_FOUND', `no open branch ${key}`);
    const meta = await r.finish();
    await this.enqueue(meta, target); // idempotent with the onFinished enqueue; awaited so the manifest holds it
    return meta;
  }

  /** Drop an open branch without uploading it (e.g. its fork could not be set up); its files are removed. */
  async discardBranch(callSid: string, branchId: string): Promise<void> {
    const key = `${callSid}/${branchId}`;
    const r = this.branches.get(key);
    if (r === undefined) return;
    this.discarding.add(key);
    try {
      await r.finish().catch(() => undefined);
      const paths = branchPaths(this.opts.dir, callSid, branchId, 'live');
      await Promise.all([rm(paths.wav, { force: true }), rm(paths.json, { force: true })]);
    } finally {
      this.discarding.delete(key);
    }
  }

  /** Finish open branches (their copies are queued), stop the uploader. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.allSettled([...this.branches.values()].map((r) => r.finish()));
      // onFinished enqueues without awaiting; give those manifest writes a turn before closing.
      await new Promise((r) => setImmediate(r));
      await this.uploader.close();
    })();
    return this.closing;
  }

  /** Queue a finished copy; without any central URL (its own or the store's) the uploader refuses it (BAD_REQUEST) and the file stays on disk. */
  private enqueue(meta: BranchMetadata, target: UploadTarget): Promise<void> {
    const centralUrl = target.centralUrl ?? this.opts.centralUrl;
    return this.uploader.enqueue({
      ...(centralUrl === undefined ? {} : { centralUrl }),
      ...(target.accountSid === undefined ? {} : { accountSid: target.accountSid }),
      callSid: meta.callSid,
      branchId: meta.branchId,
      path: branchPaths(this.opts.dir, meta.callSid, meta.branchId, 'live').wav,
      sha256: meta.sha256,
      bytes: meta.bytes,
      start: meta.start,
      packets: meta.packets,
      lost: meta.lost,
    });
  }
}
