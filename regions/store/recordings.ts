/**
 * Recording resources in Redis, shared by the call side (which writes them
 * when a recording finishes, recording-sink.ts) and the control plane's
 * Recordings API (which lists, fetches, serves the audio and deletes).
 * Keys in keys.ts: recording, accountRecordings.
 */
import type { Redis } from 'ioredis';
import { keys } from './keys.js';

export type RecordingStatus = 'in-progress' | 'paused' | 'stopped' | 'processing' | 'completed' | 'absent' | 'failed';

export interface RecordingRecord {
  sid: string; // RE + 32 hex
  accountSid: string;
  callSid: string;
  status: RecordingStatus;
  /** Seconds; -1 while in progress, as the API reports it. */
  duration: number;
  channels: 1 | 2;
  /** What started it: RecordVerb, DialVerb, StartCallRecordingAPI, … */
  source: string;
  region: string;
  /** Where the media side stored the audio: an absolute path of a WAV file (`<RecordingSid>.wav`). */
  mediaLocation?: string;
  startTime?: string;
  /** What it cost, negative decimal string, each started minute at the account's `recording` rate. */
  price?: string;
  priceUnit?: string;
  dateCreated: string;
  dateUpdated: string;
}

/** The only media format stored and served. */
export const RECORDING_MEDIA_EXTENSION = '.wav';

/**
 * Writes a recording (the media side calls this when a recording starts and
 * again when it ends): record and account index in one MULTI; the index keeps
 * the first creation time (ZADD NX), so a rewrite does not reorder listings.
 */
export async function saveRecording(redis: Redis, prefix: string, record: RecordingRecord): Promise<void> {
  const k = keys(prefix);
  await redis
    .multi()
    .set(k.recording(record.sid), JSON.stringify(record))
    .zadd(k.accountRecordings(record.accountSid), 'NX', Date.parse(record.dateCreated) || Date.now(), record.sid)
    .exec();
}

/** The Recording resource's address as the dialect's `RecordingUrl` gives it: no extension (clients append `.wav`). */
export function recordingUrl(publicBaseUrl: string, accountSid: string, recordingSid: string): string {
  return `${publicBaseUrl.replace(/\/+$/, '')}/2010-04-01/Accounts/${accountSid}/Recordings/${recordingSid}`;
}
