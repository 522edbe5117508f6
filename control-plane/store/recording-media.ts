/**
 * The audio file behind a Recording resource (`mediaLocation`, written by
 * regions/store/recording-sink.ts): opened for streaming by the API, removed
 * with the resource.
 */
import { open, unlink } from 'node:fs/promises';
import { basename, isAbsolute } from 'node:path';
import { Readable } from 'node:stream';
import { RECORDING_MEDIA_EXTENSION, type RecordingRecord } from '../../regions/store/recordings.js';

export interface RecordingMedia {
  stream: ReadableStream<Uint8Array>;
  bytes: number;
}

/** Only a local WAV file is served; anything else (no location yet, a URL) reads as absent. */
function localWav(record: RecordingRecord): string | undefined {
  const loc = record.mediaLocation;
  return loc !== undefined && isAbsolute(loc) && loc.endsWith(RECORDING_MEDIA_EXTENSION) ? loc : undefined;
}

/** The file as a web stream with its size, or undefined when it is gone. */
export async function openRecordingMedia(record: RecordingRecord): Promise<RecordingMedia | undefined> {
  const path = localWav(record);
  if (path === undefined) return undefined;
  let file;
  try {
    file = await open(path, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  // Size and stream come from the same open file, so a delete in between cannot tear the response.
  try {
    const s = await file.stat();
    if (!s.isFile()) {
      await file.close();
      return undefined;
    }
    return { stream: Readable.toWeb(file.createReadStream()) as ReadableStream<Uint8Array>, bytes: s.size };
  } catch (e) {
    await file.close().catch(() => undefined);
    throw e;
  }
}

/**
 * Removes the audio of a deleted recording. Only a file named after the
 * recording (`<Sid>.wav`, as the sink writes it) is removed, never some other
 * path a record might name.
 */
export async function deleteRecordingMedia(record: RecordingRecord): Promise<void> {
  const path = localWav(record);
  if (path === undefined || basename(path) !== `${record.sid}${RECORDING_MEDIA_EXTENSION}`) return;
  await unlink(path).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'ENOENT') throw e;
  });
}
