/**
 * Where finished recordings go (`RecordingSink` of signaling/router/leg.ts,
 * matched structurally): the WAV is moved into the recordings directory as
 * `<RecordingSid>.wav`, a completed Recording resource is written, one
 * `recordings` usage unit is counted with its price (each started minute at
 * the account's `recording` rate, regions/pricing/store.ts; a recording the
 * decks price nothing for has price null), and the resource's URL is returned
 * (the control plane serves the audio at that URL + `.wav`).
 */
import { copyFile, mkdir, rename, stat, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Redis } from 'ioredis';
import { MeshError } from '../core/errors.js';
import { RECORDING_MEDIA_EXTENSION, recordingUrl, saveRecording, type RecordingRecord } from './recordings.js';
import { apiDate } from './schema.js';
import { newSid } from './sids.js';
import { recordUsage } from './usage.js';
import { formatMicros } from '../pricing/money.js';
import { PriceDecks, priceAtRate } from '../pricing/store.js';

/** A finished recording (structurally the router's `RecordingResult`). */
export interface FinishedRecording {
  /** Absolute path of an 8 kHz mono 16-bit WAV of what the party said. */
  path: string;
  durationMs: number;
  bytes: number;
}

export interface SaveRecordingRequest {
  accountSid: string;
  callSid: string;
  source: 'RecordVerb' | 'DialVerb';
  result: FinishedRecording;
}

export interface RedisRecordingSinkOptions {
  /** Clock; default `new Date()`. */
  now?: () => Date;
}

export class RedisRecordingSink {
  private readonly dir: string;
  private readonly now: () => Date;
  private readonly decks: PriceDecks;

  /**
   * @param region        region whose media recorded it (record + usage)
   * @param recordingsDir where the WAVs live (created if missing); the control plane must be able to read it
   * @param publicBaseUrl base of the tenant API as callers reach it, e.g. `http://127.0.0.1:8080`
   */
  constructor(
    private readonly redis: Redis,
    private readonly keyPrefix: string,
    private readonly region: string,
    recordingsDir: string,
    private readonly publicBaseUrl: string,
    opts: RedisRecordingSinkOptions = {},
  ) {
    this.dir = resolve(recordingsDir);
    this.now = opts.now ?? (() => new Date());
    this.decks = new PriceDecks(redis, keyPrefix);
  }

  async save(r: SaveRecordingRequest): Promise<{ recordingSid: string; url: string }> {
    const { durationMs } = r.result;
    if (!Number.isFinite(durationMs) || durationMs < 0) {
      throw new MeshError('BAD_REQUEST', `Recording duration must be a non-negative number of ms (got ${durationMs})`);
    }
    const sid = newSid('RE');
    const target = join(this.dir, `${sid}${RECORDING_MEDIA_EXTENSION}`);
    await this.moveInto(r.result.path, target);

    const at = this.now();
    const duration = Math.round(durationMs / 1000);
    // The rate is read as the recording is stored: a recording is short next to a deck's life.
    const rate = await this.decks.itemRate(r.accountSid, 'recording', at.getTime() - durationMs).catch(() => undefined);
    const priceMicros = rate === undefined ? undefined : priceAtRate(rate, duration);
    const record: RecordingRecord = {
      sid,
      accountSid: r.accountSid,
      callSid: r.callSid,
      status: 'completed',
      duration,
      channels: 1,
      source: r.source,
      region: this.region,
      mediaLocation: target,
      startTime: apiDate(new Date(at.getTime() - durationMs)),
      ...(priceMicros === undefined || rate === undefined ? {} : { price: formatMicros(-priceMicros), priceUnit: rate.priceUnit }),
      dateCreated: apiDate(at),
      dateUpdated: apiDate(at),
    };
    try {
      await saveRecording(this.redis, this.keyPrefix, record);
      await recordUsage(this.redis, this.keyPrefix, {
        accountSid: r.accountSid,
        category: 'recordings',
        region: this.region,
        quantity: 1,
        unit: 'recordings',
        at: at.getTime(),
        ...(priceMicros === undefined ? {} : { priceMicros }),
      });
    } catch (e) {
      // No resource points at the file: do not leave it behind.
      await unlink(target).catch(() => undefined);
      throw new MeshError('SERVICE_UNAVAILABLE', `Recording ${sid} could not be stored`, { cause: e });
    }
    return { recordingSid: sid, url: recordingUrl(this.publicBaseUrl, r.accountSid, sid) };
  }

  /** rename(2) when source and directory share a file system; otherwise copy to a temporary name, rename, unlink the source. */
  private async moveInto(source: string, target: string): Promise<void> {
    try {
      const s = await stat(source);
      if (!s.isFile()) throw new MeshError('BAD_REQUEST', `Recording ${source} is not a file`);
      await mkdir(this.dir, { recursive: true });
      try {
        await rename(source, target);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EXDEV') throw e;
        const partial = `${target}.part`;
        await copyFile(source, partial);
        await rename(partial, target);
        await unlink(source).catch(() => undefined);
      }
    } catch (e) {
      if (e instanceof MeshError) throw e;
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw new MeshError('NOT_FOUND', `Recording file ${source} does not exist`, { cause: e });
      throw new MeshError('INTERNAL', `Could not move recording ${source} into ${this.dir}: ${code ?? String(e)}`, { cause: e });
    }
  }
}
