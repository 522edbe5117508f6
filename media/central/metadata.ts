/**
 * Branch recording metadata and the files of the central media store:
 * `<dataDir>/<callSid>/<branchId>.<source>.wav` plus `.json` beside it,
 * where source is `live` (received from the fork) or `upload` (the edge's
 * local copy, sent after the call). Files are written under a temporary
 * name and renamed, so a reader never sees half a recording.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MeshError } from '../../regions/core/errors.js';
import type { G711Codec } from './g711.js';

export type BranchSource = 'live' | 'upload';

export interface BranchMetadata {
  callSid: string;
  branchId: string;
  /** Region whose central service holds this copy. */
  region: string;
  source: BranchSource;
  codec: G711Codec | 'pcm';
  /** ISO time of the first packet (live) or as reported by the uploader. */
  start: string | null;
  /** Seconds of audio in the WAV. */
  duration: number;
  packets: number;
  lost: number;
  /** Hex SHA-256 of the WAV file. */
  sha256: string;
  bytes: number;
  /** Upload only: byte-identical to the live copy, stored once (hard link). */
  matchesLive?: boolean;
}

/** Call SIDs and branch ids become path segments: a strict alphabet rules out traversal. */
const ID = /^[A-Za-z0-9_-]{1,64}$/;

export function assertBranchKey(callSid: string, branchId: string): void {
  if (!ID.test(callSid)) throw new MeshError('BAD_REQUEST', `callSid "${callSid.slice(0, 80)}" must match ${ID.source}`);
  if (!ID.test(branchId)) throw new MeshError('BAD_REQUEST', `branchId "${branchId.slice(0, 80)}" must match ${ID.source}`);
}

export function branchPaths(dataDir: string, callSid: string, branchId: string, source: BranchSource): { dir: string; wav: string; json: string } {
  assertBranchKey(callSid, branchId);
  const dir = join(dataDir, callSid);
  return { dir, wav: join(dir, `${branchId}.${source}.wav`), json: join(dir, `${branchId}.${source}.json`) };
}

export function sha256Hex(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

export function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(path)
      .on('data', (d) => h.update(d))
      .on('error', reject)
      .on('end', () => resolve(h.digest('hex')));
  });
}

export async function writeFileAtomic(path: string, data: string | Buffer): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  await writeFile(tmp, data);
  await rename(tmp, path);
}
