/**
 * CentralMediaService on real UDP and HTTP (127.0.11.30): RTP sent out of
 * order, with a duplicate and a lost packet, becomes a WAV whose samples are
 * the decoded G.711 in sequence order with the loss as silence; metadata and
 * checksum are written; the upload API confirms checksums, is idempotent and
 * bounded.
 */
import dgram from 'node:dgram';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeSample } from '../../../media/central/g711.js';
import { CentralMediaService } from '../../../media/central/service.js';
import { parseWav, wavHeader } from '../../../media/central/wav.js';
import { isMeshError } from '../../../regions/core/errors.js';

const HOST = '127.0.11.30';
const SENDER = '127.0.11.31';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

function rtp(seq: number, pt: number, fill: number, ssrc = 0x1234): Buffer {
  const p = Buffer.alloc(172, fill);
  p[0] = 0x80;
  p[1] = pt;
  p.writeUInt16BE(seq & 0xffff, 2);
  p.writeUInt32BE((1000 + seq * 160) >>> 0, 4);
  p.writeUInt32BE(ssrc, 8);
  return p;
}

describe('CentralMediaService', () => {
  let svc: CentralMediaService;
  let dataDir: string;
  let sender: dgram.Socket;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'central-it-'));
    svc = await CentralMediaService.start({ region: 'us-east', rtpAddress: HOST, portMin: 54800, portMax: 54809, dataDir, maxBranches: 4, maxUploadBytes: 64 * 1024, idleTimeoutMs: 1500 });
    sender = dgram.createSocket('udp4');
    await new Promise<void>((r) => sender.bind(0, SENDER, r));
  });

  afterAll(async () => {
    await new Promise<void>((r) => sender.close(() => r()));
    await svc.close();
    await svc.close();
  });

  it('records reordered RTP as a WAV in sequence order, loss as silence, and writes metadata', async () => {
    const at = await svc.openBranch({ callSid: 'CA1', branchId: 'caller', codec: 'PCMA' });
    expect(at.address).toBe(HOST);
    expect(at.port % 2).toBe(0);
    // Packet i carries byte value (i + 1); seq 5 is lost, 3 and 4 swapped, 7 duplicated, one telephone-event in between.
    const order = [0, 1, 2, 4, 3, 6, 7, 7, 8, 9];
    for (const i of order) {
      sender.send(rtp(i, 8, i + 1), at.port, HOST);
      await sleep(2);
    }
    sender.send(rtp(100, 101, 0), at.port, HOST);
    await sleep(50);
    expect(svc.branchStats('CA1', 'caller')).toMatchObject({ packets: 10, ignored: 1 });
    const meta = await svc.closeBranch('CA1', 'caller');
    expect(meta).toMatchObject({ callSid: 'CA1', branchId: 'caller', region: 'us-east', source: 'live', codec: 'PCMA', packets: 10, lost: 1 });
    expect(meta.duration).toBeCloseTo(10 * 0.02, 6); // 0..9 including the lost one as silence
    expect(Date.parse(meta.start ?? '')).toBeGreaterThan(Date.now() - 10_000);
    const wav = readFileSync(join(dataDir, 'CA1', 'caller.live.wav'));
    expect(meta.sha256).toBe(sha(wav));
    expect(meta.bytes).toBe(wav.length);
    expect(parseWav(wav)).toMatchObject({ sampleRate: 8000, channels: 1, bitsPerSample: 16, durationSec: 0.2 });
    const sampleOfPacket = (k: number): number => wav.readInt16LE(44 + k * 320 + 100);
    for (const k of [0, 1, 2, 3, 4, 6, 7, 8, 9]) expect(sampleOfPacket(k)).toBe(decodeSample('PCMA', k + 1));
    expect(Math.abs(sampleOfPacket(5))).toBeLessThanOrEqual(8); // silence
    const onDisk = JSON.parse(readFileSync(join(dataDir, 'CA1', 'caller.live.json'), 'utf8'));
    expect(onDisk).toEqual(meta);
    // closeBranch again reads the metadata back; reopening the same branch is refused.
    expect(await svc.closeBranch('CA1', 'caller')).toEqual(meta);
    await expect(svc.openBranch({ callSid: 'CA1', branchId: 'caller', codec: 'PCMA' })).rejects.toSatisfy((e: unknown) => isMeshError(e, 'CONFLICT'));
  });

  it('fills a timestamp gap (sender pause) with silence so the duration follows the RTP clock', async () => {
    const at = await svc.openBranch({ callSid: 'CA2', branchId: 'b', codec: 'PCMU' });
    sender.send(rtp(0, 0, 0x80), at.port, HOST);
    const late = rtp(1, 0, 0x80);
    late.writeUInt32BE(1000 + 8000, 4); // one second later on the RTP clock
    sender.send(late, at.port, HOST);
    await sleep(50);
    const meta = await svc.closeBranch('CA2', 'b');
    expect(meta.duration).toBeCloseTo(1 + 0.02, 6);
  });

  it('finishes an idle branch by itself and bounds open branches', async () => {
    const opened = await Promise.all(['x1', 'x2', 'x3', 'x4'].map((b) => svc.openBranch({ callSid: 'CA3', branchId: b, codec: 'PCMU' })));
    expect(new Set(opened.map((o) => o.port)).size).toBe(4);
    await expect(svc.openBranch({ callSid: 'CA3', branchId: 'x5', codec: 'PCMU' })).rejects.toSatisfy((e: unknown) => isMeshError(e, 'SERVICE_UNAVAILABLE'));
    await expect(svc.openBranch({ callSid: '../etc', branchId: 'x', codec: 'PCMU' })).rejects.toSatisfy((e: unknown) => isMeshError(e, 'BAD_REQUEST'));
    await sleep(1800);
    expect(svc.openBranches).toBe(0);
    const meta = await svc.closeBranch('CA3', 'x1');
    expect(meta).toMatchObject({ packets: 0, duration: 0, start: null });
  });

  describe('upload API', () => {
    const wav = Buffer.concat([wavHeader(1600), Buffer.alloc(1600, 7)]);
    const put = (path: string, body: Buffer, checksum?: string, headers: Record<string, string> = {}): Promise<Response> =>
      fetch(`${svc.url}${path}`, { method: 'PUT', body, headers: { ...(checksum === undefined ? {} : { 'X-Content-SHA256': checksum }), ...headers } });

    it('stores an upload whose checksum matches (201), and a repeat is idempotent (200)', async () => {
      const r1 = await put('/branches/CA9/callee', wav, sha(wav), { 'X-Branch-Start': '2026-01-01T00:00:00.000Z', 'X-Branch-Packets': '5', 'X-Branch-Lost': '0' });
      expect(r1.status).toBe(201);
      const m1 = (await r1.json()) as Record<string, unknown>;
      expect(m1).toMatchObject({ sha256: sha(wav), duration: 0.1, source: 'upload', region: 'us-east', packets: 5, start: '2026-01-01T00:00:00.000Z' });
      const r2 = await put('/branches/CA9/callee', wav, sha(wav).toUpperCase());
      expect(r2.status).toBe(200);
      expect(((await r2.json()) as Record<string, unknown>).sha256).toBe(sha(wav));
      expect(readFileSync(join(dataDir, 'CA9', 'callee.upload.wav')).equals(wav)).toBe(true);
      const g = await fetch(`${svc.url}/branches/CA9/callee`);
      expect(g.status).toBe(200);
      expect(((await g.json()) as { upload: { sha256: string } }).upload.sha256).toBe(sha(wav));
    });

    it('answers 409 on a checksum mismatch and on different bytes for a stored branch', async () => {
      const r = await put('/branches/CA10/b', wav, sha(Buffer.from('other')));
      expect(r.status).toBe(409);
      expect(((await r.json()) as { detail: { actual: string } }).detail.actual).toBe(sha(wav));
      const other = Buffer.concat([wavHeader(2), Buffer.alloc(2)]);
      expect((await put('/branches/CA9/callee', other, sha(other))).status).toBe(409);
      expect((await fetch(`${svc.url}/branches/CA10/b`)).status).toBe(404);
    });

    it('rejects a missing checksum (400), a bad id (400), a non-WAV (415) and an oversize body (413)', async () => {
      expect((await put('/branches/CA11/b', wav)).status).toBe(400);
      expect((await put('/branches/CA%2F11/b', wav, sha(wav))).status).toBe(400);
      const text = Buffer.from('not a wav at all');
      expect((await put('/branches/CA11/b', text, sha(text))).status).toBe(415);
      const big = Buffer.alloc(70 * 1024);
      expect((await put('/branches/CA11/b', big, sha(big))).status).toBe(413);
    });
  });
});
