/**
 * The uploader's queue on disk: a small JSON manifest listing the branch
 * copies still to deliver. It is rewritten atomically (temp file + rename)
 * on every change, so an edge that restarts — or a link that stays cut for
 * hours — loses nothing: the next uploader reads it and carries on.
 */
import { readFile } from 'node:fs/promises';
import { MeshError } from '../../regions/core/errors.js';
import { writeFileAtomic } from '../central/metadata.js';

export type UploadState = 'pending' | 'failed';

export interface UploadEntry {
  callSid: string;
  branchId: string;
  /** Absolute path of the local WAV. */
  path: string;
  /** Hex SHA-256 of the local WAV, computed when it was finished. */
  sha256: string;
  bytes: number;
  start: string | null;
  packets: number;
  lost: number;
  state: UploadState;
  attempts: number;
  /** Epoch ms of the next attempt. */
  nextAttemptAt: number;
  lastError?: string;
  enqueuedAt: string;
  /** Base URL of the central media service this copy goes to (else the uploader's default). */
  centralUrl?: string;
  /** Account the branch is billed to, when known (usage is written on delivery). */
  accountSid?: string;
}

interface ManifestFile {
  version: 1;
  entries: UploadEntry[];
}

export async function loadManifest(path: string): Promise<UploadEntry[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new MeshError('CONFIG_INVALID', `upload manifest ${path} is not JSON: ${(e as Error).message}`, { cause: e });
  }
  const f = parsed as Partial<ManifestFile>;
  if (f.version !== 1 || !Array.isArray(f.entries)) throw new MeshError('CONFIG_INVALID', `upload manifest ${path} has an unknown layout`);
  return f.entries.filter((e): e is UploadEntry => typeof e?.callSid === 'string' && typeof e.branchId === 'string' && typeof e.path === 'string' && typeof e.sha256 === 'string');
}

export async function saveManifest(path: string, entries: UploadEntry[]): Promise<void> {
  const f: ManifestFile = { version: 1, entries };
  await writeFileAtomic(path, JSON.stringify(f, null, 2) + '\n');
}
