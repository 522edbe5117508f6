/**
 * RedisRecordingSink (call side) and the control plane's Recordings API,
 * including the audio route — real Redis, real API server, real files.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MeshError } from '../../../../regions/core/errors.js';
import { RedisRecordingSink } from '../../../../regions/store/recording-sink.js';
import { saveRecording, type RecordingRecord } from '../../../../regions/store/recordings.js';
import { keys } from '../../../../regions/store/keys.js';
import { apiDate } from '../../../../regions/store/schema.js';
import { usageField } from '../../../../regions/store/usage.js';
import type { RecordingSink } from '../../../../signaling/router/leg.js';
import { basic, startApiHarness, type ApiHarness } from '../../control-plane/api-harness.js';

let h: ApiHarness;
let work: string;
let recordingsDir: string;
const AT = new Date('2026-05-02T10:00:00Z');
const BASE_URL = 'http://127.0.21.1:8080/';

beforeAll(async () => {
  h = await startApiHarness('it-recordings:');
  work = await mkdtemp(join(tmpdir(), 'mesh-rec-'));
  recordingsDir = join(work, 'recordings');
});
afterAll(async () => {
  await h?.close();
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

/** An 8 kHz mono 16-bit PCM WAV of `ms` milliseconds (a ramp, so bytes differ). */
function wav(ms: number): Buffer {
  const samples = Math.round((8000 * ms) / 1000);
  const data = Buffer.alloc(samples * 2);
  for (let i = 0; i < samples; i++) data.writeInt16LE(((i * 37) % 20000) - 10000, i * 2);
  const head = Buffer.alloc(44);
  head.write('RIFF', 0);
  head.writeUInt32LE(36 + data.length, 4);
  head.write('WAVEfmt ', 8);
  head.writeUInt32LE(16, 16);
  head.writeUInt16LE(1, 20);
  head.writeUInt16LE(1, 22);
  head.writeUInt32LE(8000, 24);
  head.writeUInt32LE(16000, 28);
  head.writeUInt16LE(2, 32);
  head.writeUInt16LE(16, 34);
  head.write('data', 36);
  head.writeUInt32LE(data.length, 40);
  return Buffer.concat([head, data]);
}

async function recorded(name: string, ms: number): Promise<{ path: string; bytes: Buffer }> {
  const path = join(work, name);
  const bytes = wav(ms);
  await writeFile(path, bytes);
  return { path, bytes };
}

function sink(): RedisRecordingSink {
  return new RedisRecordingSink(h.redis, h.prefix, 'us-east', recordingsDir, BASE_URL, { now: () => AT });
}

describe('RedisRecordingSink', () => {
  it('matches the router\'s RecordingSink interface', () => {
    const asInterface: RecordingSink = sink();
    expect(typeof asInterface.save).toBe('function');
  });

  it('moves the WAV in as <Sid>.wav, writes a completed Recording and one recordings usage unit, returns the URL without extension', async () => {
    const src = await recorded('take1.wav', 2600);
    const callSid = `CA${'a'.repeat(32)}`;
    const out = await sink().save({ accountSid: h.account.sid, callSid, source: 'RecordVerb', result: { path: src.path, durationMs: 2600, bytes: src.bytes.length } });
    expect(out.recordingSid).toMatch(/^RE[0-9a-f]{32}$/);
    expect(out.url).toBe(`http://127.0.21.1:8080/2010-04-01/Accounts/${h.account.sid}/Recordings/${out.recordingSid}`);

    const stored = join(recordingsDir, `${out.recordingSid}.wav`);
    expect(await readFile(stored)).toEqual(src.bytes);
    expect(existsSync(src.path)).toBe(false);

    const record = JSON.parse((await h.redis.get(keys(h.prefix).recording(out.recordingSid)))!) as RecordingRecord;
    expect(record).toEqual({
      sid: out.recordingSid,
      accountSid: h.account.sid,
      callSid,
      status: 'completed',
      duration: 3,
      channels: 1,
      source: 'RecordVerb',
      region: 'us-east',
      mediaLocation: stored,
      startTime: apiDate(new Date(AT.getTime() - 2600)),
      dateCreated: apiDate(AT),
      dateUpdated: apiDate(AT),
    });
    const usage = await h.redis.hget(keys(h.prefix).usage(h.account.sid), usageField({ category: 'recordings', region: 'us-east', at: AT.getTime() }));
    expect(Number(usage)).toBe(1);

    const api = await h.req('GET', `/2010-04-01/Accounts/${h.account.sid}/Recordings/${out.recordingSid}.json`);
    expect(api.body).toMatchObject({ sid: out.recordingSid, call_sid: callSid, status: 'completed', duration: '3', channels: 1, source: 'RecordVerb', region: 'us-east' });
    const usageApi = await h.req('GET', `/2010-04-01/Accounts/${h.account.sid}/Usage/Records.json?Category=recordings&StartDate=2026-05-01&EndDate=2026-05-31`);
    expect(usageApi.body.usage_records[0]).toMatchObject({ category: 'recordings', usage: '1', usage_unit: 'recordings' });
  });

  it('refuses a missing file or a bad duration without writing anything', async () => {
    const before = await h.redis.zcard(keys(h.prefix).accountRecordings(h.account.sid));
    const missing = sink().save({ accountSid: h.account.sid, callSid: `CA${'b'.repeat(32)}`, source: 'DialVerb', result: { path: join(work, 'nope.wav'), durationMs: 1000, bytes: 0 } });
    await expect(missing).rejects.toSatisfy((e: unknown) => e instanceof MeshError && e.code === 'NOT_FOUND');
    const src = await recorded('bad-duration.wav', 100);
    const bad = sink().save({ accountSid: h.account.sid, callSid: `CA${'b'.repeat(32)}`, source: 'DialVerb', result: { path: src.path, durationMs: Number.NaN, bytes: 0 } });
    await expect(bad).rejects.toSatisfy((e: unknown) => e instanceof MeshError && e.code === 'BAD_REQUEST');
    expect(await h.redis.zcard(keys(h.prefix).accountRecordings(h.account.sid))).toBe(before);
  });
});

describe('GET …/Recordings/{Sid}.wav', () => {
  const media = (sid: string, ext = '.wav', accountSid = h.account.sid) => `${h.url}/2010-04-01/Accounts/${accountSid}/Recordings/${sid}${ext}`;
  const auth = (user = h.account.sid, pass = h.account.authToken) => ({ Authorization: basic(user, pass) });

  it('serves the stored audio as audio/wav with auth; .mp3 is 415 naming .wav; 404 once the file is gone or the recording deleted', async () => {
    const src = await recorded('take2.wav', 1500);
    const { recordingSid } = await sink().save({ accountSid: h.account.sid, callSid: `CA${'c'.repeat(32)}`, source: 'DialVerb', result: { path: src.path, durationMs: 1500, bytes: src.bytes.length } });

    const res = await fetch(media(recordingSid), { headers: auth() });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('audio/wav');
    expect(Number(res.headers.get('content-length'))).toBe(src.bytes.length);
    expect(Buffer.from(await res.arrayBuffer())).toEqual(src.bytes);

    const head = await fetch(media(recordingSid), { method: 'HEAD', headers: auth() });
    expect(head.status).toBe(200);
    expect(Number(head.headers.get('content-length'))).toBe(src.bytes.length);

    expect((await fetch(media(recordingSid))).status).toBe(401);
    const sub = (await h.req('POST', '/2010-04-01/Accounts.json', { form: {} })).body;
    expect((await fetch(media(recordingSid, '.wav', sub.sid), { headers: auth(sub.sid, sub.auth_token) })).status).toBe(404);

    const mp3 = await fetch(media(recordingSid, '.mp3'), { headers: auth() });
    expect(mp3.status).toBe(415);
    const body = (await mp3.json()) as { message: string; status: number };
    expect(body.status).toBe(415);
    expect(body.message).toContain('.wav');
    expect((await fetch(media(`RE${'0'.repeat(32)}`), { headers: auth() })).status).toBe(404);

    // The JSON resource still answers beside the audio route.
    expect((await h.req('GET', `/2010-04-01/Accounts/${h.account.sid}/Recordings/${recordingSid}.json`)).body.sid).toBe(recordingSid);
    expect((await h.req('GET', `/2010-04-01/Accounts/${h.account.sid}/Recordings/${recordingSid}`)).body.sid).toBe(recordingSid);

    await unlink(join(recordingsDir, `${recordingSid}.wav`));
    const gone = await fetch(media(recordingSid), { headers: auth() });
    expect(gone.status).toBe(404);
    expect(((await gone.json()) as { message: string }).message).toContain(recordingSid);
  });

  it('deletes the file with the recording', async () => {
    const src = await recorded('take3.wav', 500);
    const { recordingSid } = await sink().save({ accountSid: h.account.sid, callSid: `CA${'d'.repeat(32)}`, source: 'RecordVerb', result: { path: src.path, durationMs: 500, bytes: src.bytes.length } });
    const file = join(recordingsDir, `${recordingSid}.wav`);
    expect(existsSync(file)).toBe(true);
    expect((await h.req('DELETE', `/2010-04-01/Accounts/${h.account.sid}/Recordings/${recordingSid}.json`)).status).toBe(204);
    expect(existsSync(file)).toBe(false);
    expect((await fetch(media(recordingSid), { headers: auth() })).status).toBe(404);
  });

  it('never serves a file the record does not name as a local .wav', async () => {
    const sid = `RE${'e'.repeat(32)}`;
    const now = apiDate();
    const record: RecordingRecord = { sid, accountSid: h.account.sid, callSid: `CA${'e'.repeat(32)}`, status: 'completed', duration: 1, channels: 1, source: 'RecordVerb', region: 'us-east', mediaLocation: '/etc/passwd', dateCreated: now, dateUpdated: now };
    await saveRecording(h.redis, h.prefix, record);
    expect((await fetch(media(sid), { headers: auth() })).status).toBe(404);
  });

  it('is in the OpenAPI document, with every path parameter declared', async () => {
    const doc = (await h.req('GET', '/openapi.json', { auth: null })).body;
    const wavPath = doc.paths['/2010-04-01/Accounts/{AccountSid}/Recordings/{Sid}.wav'];
    expect(Object.keys(wavPath.get.responses['200'].content)).toEqual(['audio/wav']);
    expect(doc.paths['/2010-04-01/Accounts/{AccountSid}/Recordings/{Sid}.mp3'].get.responses['415']).toBeDefined();
    for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, { parameters?: { name: string; in: string }[] }>>)) {
      const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]).sort();
      for (const op of Object.values(item)) {
        const declared = (op.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name).sort();
        expect({ path, params: declared }).toEqual({ path, params: templated });
      }
    }
  });
});
