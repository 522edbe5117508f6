/**
 * Which copy of a branch is *the* recording. The central service may hold
 * two copies of one branch:
 *
 *   live    what arrived over the branch tunnel during the call. A region
 *           link cut leaves a gap in it (filled with silence of the right
 *           length, so its duration can look complete while audio is missing).
 *   upload  the edge's local copy, sent after the call and confirmed by
 *           SHA-256. The edge recorded it next to the media node, so no link
 *           cut can touch it.
 *
 * Rule: the upload is authoritative. Once it is stored it is the recording,
 * whatever the live copy holds; the live copy stays beside it for diagnosis
 * (what the home region heard in real time). An upload byte-identical to the
 * live copy is stored once (hard link) and marked `matchesLive`. Until an
 * upload arrives, the live copy is the recording, flagged unconfirmed: the
 * edge may still deliver a more complete one.
 */
import { branchPaths, type BranchMetadata, type BranchSource } from './metadata.js';
import { readBranchMetadata } from './upload-store.js';

export interface ChosenRecording {
  source: BranchSource;
  /** true once the edge's checksum-confirmed upload is stored: nothing more will come. */
  confirmed: boolean;
  metadata: BranchMetadata;
}

/** The recording of a branch from its copies' metadata (pure; see the rule above). */
export function chooseRecording(live: BranchMetadata | undefined, upload: BranchMetadata | undefined): ChosenRecording | undefined {
  if (upload !== undefined) return { source: 'upload', confirmed: true, metadata: upload };
  if (live !== undefined) return { source: 'live', confirmed: false, metadata: live };
  return undefined;
}

/** The recording of a branch as stored under `dataDir`, with the path of its WAV. */
export async function readRecording(dataDir: string, callSid: string, branchId: string): Promise<(ChosenRecording & { wav: string }) | undefined> {
  const [live, upload] = await Promise.all([
    readBranchMetadata(dataDir, callSid, branchId, 'live'),
    readBranchMetadata(dataDir, callSid, branchId, 'upload'),
  ]);
  const chosen = chooseRecording(live, upload);
  if (chosen === undefined) return undefined;
  return { ...chosen, wav: branchPaths(dataDir, callSid, branchId, chosen.source).wav };
}
