/**
 * Record what one party of a leg says: rtpengine forks the party's RTP
 * (a media subscription, media/fork) to a UDP port of ours, where a
 * BranchRecorder (media/central) reorders it, decodes G.711 and writes an
 * 8 kHz 16-bit mono WAV. The WAV's length follows the RTP timestamps, so it
 * lasts as long as the audio the party sent while recording.
 *
 * Files: `<recordingsDir>/<call key>/<recording id>.live.wav` plus the
 * branch metadata JSON beside it (central/metadata.ts). The call key is the
 * Call-ID reduced to a path-safe alphabet plus a hash, since Call-IDs may
 * hold `@`, `.` and other characters a path segment must not.
 */
import { createHash, randomBytes } from 'node:crypto';
import type dgram from 'node:dgram';
import { rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { isMeshError, MeshError } from '../../regions/core/errors.js';
import { BranchRecorder } from '../central/branch-recorder.js';
import { branchPaths } from '../central/metadata.js';
import { forkBranch, type ForkHandle } from '../fork/fork-branch.js';
import type { MediaEngine } from '../engine/types.js';
import type { RecordingHandle, RecordingResult } from '../../regions/core/leg-media.js';

export interface LegRecordingRequest {
  /** The media node that holds the call's session. */
  engine: MediaEngine;
  callId: string;
  /** The party whose media is recorded. */
  partyTag: string;
  recordingsDir: string;
  /** A bound UDP socket; the recording owns it from now on and closes it. */
  socket: dgram.Socket;
  /** Address rtpengine sends the fork to (the socket's, unless behind a NAT or relay). Default: the socket's. */
  advertiseAddress?: string;
  /** Longest recording; later audio is dropped. Default 14400 s. */
  maxDurationSec?: number;
  /** The recording finishes by itself after this long without RTP. Default 60000 ms. */
  idleTimeoutMs?: number;
}

export interface LegRecordingHandle extends RecordingHandle {
  /** Absolute path the WAV will have once stopped. */
  readonly path: string;
}

/** Path-safe key of a Call-ID: its safe characters (≤ 40) + 12 hex digits of its SHA-256. */
export function callKey(callId: string): string {
  const safe = callId.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 40);
  const hash = createHash('sha256').update(callId).digest('hex').slice(0, 12);
  return `${safe}-${hash}`;
}

export async function startLegRecording(req: LegRecordingRequest): Promise<LegRecordingHandle> {
  const dataDir = resolve(req.recordingsDir);
  const key = callKey(req.callId);
  const id = `rec-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
  const paths = branchPaths(dataDir, key, id, 'live');
  const bound = req.socket.address();
  let recorder: BranchRecorder;
  try {
    recorder = await BranchRecorder.open({
      callSid: key,
      branchId: id,
      codec: 'PCMU', // the first audio packet decides between PCMU and PCMA
      region: 'local',
      dataDir,
      socket: req.socket,
      ...(req.maxDurationSec === undefined ? {} : { maxDurationSec: req.maxDurationSec }),
      ...(req.idleTimeoutMs === undefined ? {} : { idleTimeoutMs: req.idleTimeoutMs }),
    });
  } catch (e) {
    req.socket.close();
    throw e;
  }
  let fork: ForkHandle;
  try {
    fork = await forkBranch(req.engine, {
      callId: req.callId,
      fromTags: [req.partyTag],
      targets: [{ address: req.advertiseAddress ?? bound.address, port: bound.port }],
    });
  } catch (e) {
    await recorder.finish().catch(() => undefined);
    await Promise.all([rm(paths.wav, { force: true }), rm(paths.json, { force: true })]).catch(() => undefined);
    throw e;
  }
  let stopping: Promise<RecordingResult> | undefined;
  const stop = async (): Promise<RecordingResult> => {
    try {
      await fork.stop();
    } catch (e) {
      // The recording is still worth keeping; the subscription dies with the call anyway.
      if (!isMeshError(e)) throw e;
    }
    const meta = await recorder.finish();
    return { path: paths.wav, durationMs: Math.round(meta.duration * 1000), bytes: meta.bytes };
  };
  return {
    path: paths.wav,
    stop: () => (stopping ??= stop()),
  };
}

/** Reject path-unsafe configuration early (used by LegMedia's constructor). */
export function assertRecordingsDir(dir: string): void {
  if (typeof dir !== 'string' || dir.length === 0) throw new MeshError('CONFIG_INVALID', 'recordingsDir must be a non-empty path');
}
