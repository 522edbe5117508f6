/**
 * Uploads of locally stored branch copies. The uploader names the checksum
 * it expects; the store computes its own over the bytes received, and keeps
 * the copy only when both agree, so a confirmed checksum means the central
 * copy is byte-identical to the edge's. Repeating an upload of the same
 * bytes is harmless (the uploader retries until it sees the confirmation).
 *
 * The upload is the authoritative recording of its branch (recording.ts).
 * The edge uploads only after the call, so a live copy still being recorded
 * is finished first (`finishLive`); an upload identical to the live copy is
 * stored once, as a hard link to it (`matchesLive`).
 */
import { link, mkdir, readFile, rm } from 'node:fs/promises';
import { MeshError } from '../../regions/core/errors.js';
import { branchPaths, sha256Hex, writeFileAtomic, type BranchMetadata } from './metadata.js';
import { parseWav } from './wav.js';

export interface UploadRequest {
  callSid: string;
  branchId: string;
  body: Buffer;
  /** The uploader's hex SHA-256 of the body. */
  expectedSha256: string;
  start?: string | undefined;
  packets?: number | undefined;
  lost?: number | undefined;
}

export interface UploadResult {
  /** true when this request stored the copy, false when an identical copy was already there. */
  created: boolean;
  metadata: BranchMetadata;
}

export async function readBranchMetadata(dataDir: string, callSid: string, branchId: string, source: 'live' | 'upload'): Promise<BranchMetadata | undefined> {
  try {
    return JSON.parse(await readFile(branchPaths(dataDir, callSid, branchId, source).json, 'utf8')) as BranchMetadata;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

export interface UploadStoreOptions {
  /** Finish the live copy of a branch if it is still being recorded (its call is over). Default: nothing to finish. */
  finishLive?: (callSid: string, branchId: string) => Promise<void>;
}

export class UploadStore {
  /** One upload per branch at a time: a retry racing the original must not interleave writes. */
  private readonly inFlight = new Map<string, Promise<UploadResult>>();

  constructor(
    private readonly dataDir: string,
    private readonly region: string,
    private readonly opts: UploadStoreOptions = {},
  ) {}

  async put(req: UploadRequest): Promise<UploadResult> {
    const key = `${req.callSid}/${req.branchId}`;
    const previous = this.inFlight.get(key);
    if (previous !== undefined) await previous.catch(() => undefined);
    const p = this.store(req);
    this.inFlight.set(key, p);
    try {
      return await p;
    } finally {
      if (this.inFlight.get(key) === p) this.inFlight.delete(key);
    }
  }

  private async store(req: UploadRequest): Promise<UploadResult> {
    const expected = req.expectedSha256.toLowerCase();
    if (!/^[0-9a-f]{64}$/.test(expected)) throw new MeshError('BAD_REQUEST', 'X-Content-SHA256 must be 64 hex digits');
    const actual = sha256Hex(req.body);
    if (actual !== expected) {
      throw new MeshError('CONFLICT', 'checksum mismatch: the body does not have the announced SHA-256', { detail: { expected, actual } });
    }
    const info = parseWav(req.body);
    const existing = await readBranchMetadata(this.dataDir, req.callSid, req.branchId, 'upload');
    if (existing !== undefined) {
      if (existing.sha256 === actual) return { created: false, metadata: existing };
      throw new MeshError('CONFLICT', `branch ${req.callSid}/${req.branchId} already holds a different upload`, { detail: { stored: existing.sha256, actual } });
    }
    const paths = branchPaths(this.dataDir, req.callSid, req.branchId, 'upload');
    await mkdir(paths.dir, { recursive: true });
    // A live copy still open belongs to a call that is over (the edge uploads after it): close it, then compare.
    await this.opts.finishLive?.(req.callSid, req.branchId).catch(() => undefined);
    const live = await readBranchMetadata(this.dataDir, req.callSid, req.branchId, 'live');
    const matchesLive = live?.sha256 === actual && (await linkOver(branchPaths(this.dataDir, req.callSid, req.branchId, 'live').wav, paths.wav));
    if (!matchesLive) await writeFileAtomic(paths.wav, req.body);
    const metadata: BranchMetadata = {
      callSid: req.callSid,
      branchId: req.branchId,
      region: this.region,
      source: 'upload',
      codec: 'pcm',
      start: req.start ?? null,
      duration: info.durationSec,
      packets: req.packets ?? 0,
      lost: req.lost ?? 0,
      sha256: actual,
      bytes: req.body.length,
      ...(matchesLive ? { matchesLive: true } : {}),
    };
    // Metadata last: its presence is what marks the upload as complete.
    await writeFileAtomic(paths.json, JSON.stringify(metadata, null, 2) + '\n');
    return { created: true, metadata };
  }
}

/** Hard-link `from` to `to` (replacing `to`); false when the file system cannot, so the caller writes a copy. */
async function linkOver(from: string, to: string): Promise<boolean> {
  try {
    await rm(to, { force: true });
    await link(from, to);
    return true;
  } catch {
    return false;
  }
}
