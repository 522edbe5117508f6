/**
 * Which copy of a branch is the recording (the upload is authoritative), and
 * how an upload is stored beside a live copy: finished first, deduplicated
 * by hard link when byte-identical, kept separately when the live copy has a
 * gap.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { branchPaths, type BranchMetadata } from '../../../../media/central/metadata.js';
import { chooseRecording, readRecording } from '../../../../media/central/recording.js';
import { UploadStore } from '../../../../media/central/upload-store.js';
import { wavHeader } from '../../../../media/central/wav.js';

const meta = (source: 'live' | 'upload', sha256: string): BranchMetadata => ({
  callSid: 'CA1',
  branchId: 'caller',
  region: 'us-east',
  source,
  codec: source === 'live' ? 'PCMU' : 'pcm',
  start: null,
  duration: 4,
  packets: 200,
  lost: 0,
  sha256,
  bytes: 64_044,
});

function wav(samples: number, fill: number): Buffer {
  const data = Buffer.alloc(samples * 2, fill);
  return Buffer.concat([wavHeader(data.length, 8000), data]);
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** Write a finished live copy as the branch recorder would. */
function writeLive(dataDir: string, body: Buffer): void {
  const p = branchPaths(dataDir, 'CA1', 'caller', 'live');
  mkdirSync(p.dir, { recursive: true });
  writeFileSync(p.wav, body);
  writeFileSync(p.json, JSON.stringify({ ...meta('live', sha(body)), bytes: body.length }));
}

describe('chooseRecording', () => {
  it('takes the upload whenever there is one: it is confirmed by checksum and immune to link cuts', () => {
    expect(chooseRecording(meta('live', 'a'), meta('upload', 'b'))).toMatchObject({ source: 'upload', confirmed: true, metadata: { sha256: 'b' } });
    expect(chooseRecording(undefined, meta('upload', 'b'))).toMatchObject({ source: 'upload', confirmed: true });
  });

  it('falls back to the live copy, unconfirmed, until an upload arrives', () => {
    expect(chooseRecording(meta('live', 'a'), undefined)).toMatchObject({ source: 'live', confirmed: false, metadata: { sha256: 'a' } });
    expect(chooseRecording(undefined, undefined)).toBeUndefined();
  });
});

describe('UploadStore beside a live copy', () => {
  it('stores an upload identical to the live copy once (hard link) and marks it', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'central-rec-'));
    const body = wav(8000, 1);
    writeLive(dataDir, body);
    const r = await new UploadStore(dataDir, 'us-east').put({ callSid: 'CA1', branchId: 'caller', body, expectedSha256: sha(body) });
    expect(r).toMatchObject({ created: true, metadata: { source: 'upload', matchesLive: true, sha256: sha(body) } });
    const live = statSync(branchPaths(dataDir, 'CA1', 'caller', 'live').wav);
    const up = statSync(branchPaths(dataDir, 'CA1', 'caller', 'upload').wav);
    expect(up.ino).toBe(live.ino);
    expect(await readRecording(dataDir, 'CA1', 'caller')).toMatchObject({ source: 'upload', confirmed: true });
  });

  it('keeps an upload that differs from a gapped live copy as its own file; it becomes the recording', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'central-rec-'));
    writeLive(dataDir, wav(8000, 0));
    const body = wav(8000, 7);
    const r = await new UploadStore(dataDir, 'us-east').put({ callSid: 'CA1', branchId: 'caller', body, expectedSha256: sha(body) });
    expect(r.metadata.matchesLive).toBeUndefined();
    const rec = await readRecording(dataDir, 'CA1', 'caller');
    expect(rec).toMatchObject({ source: 'upload', metadata: { sha256: sha(body) } });
    expect(sha(readFileSync(rec!.wav))).toBe(sha(body));
    // The live copy stays for diagnosis.
    expect(sha(readFileSync(branchPaths(dataDir, 'CA1', 'caller', 'live').wav))).toBe(sha(wav(8000, 0)));
  });

  it('finishes a live copy still being recorded before comparing', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'central-rec-'));
    const body = wav(800, 3);
    const finished: string[] = [];
    const store = new UploadStore(dataDir, 'us-east', {
      finishLive: async (callSid, branchId) => {
        finished.push(`${callSid}/${branchId}`);
        writeLive(dataDir, body);
      },
    });
    const r = await store.put({ callSid: 'CA1', branchId: 'caller', body, expectedSha256: sha(body) });
    expect(finished).toEqual(['CA1/caller']);
    expect(r.metadata.matchesLive).toBe(true);
    // A repeat of the same upload is confirmed without storing again.
    const again = await store.put({ callSid: 'CA1', branchId: 'caller', body, expectedSha256: sha(body) });
    expect(again).toMatchObject({ created: false, metadata: { sha256: sha(body) } });
  });
});
