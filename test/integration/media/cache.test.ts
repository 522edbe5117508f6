/**
 * MediaCache with a real HTTP server (counting requests), real sox and real
 * espeak-ng: conversion to 8 kHz mono 16-bit WAV, content addresses, Cache-
 * Control / ETag handling, single-flight, LRU bound, persistence, and typed
 * errors for bodies that are not audio.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MediaCache } from '../../../media/cache/media-cache.js';
import { isMeshError } from '../../../regions/core/errors.js';

interface Route {
  body: Buffer;
  headers?: Record<string, string>;
  etag?: string;
  delayMs?: number;
}

const work = mkdtempSync(join(tmpdir(), 'media-cache-it-'));
const routes = new Map<string, Route>();
const hits = new Map<string, number>();
const conditional = new Map<string, number>();
let server: Server;
let base: string;

function makeAudio(name: string, args: string[]): Buffer {
  const path = join(work, name);
  execFileSync('sox', ['-n', ...args.slice(0, -1), path, 'synth', ...args.slice(-1)[0]!.split(' ')]);
  return readFileSync(path);
}

function soxi(path: string): { rate: string; channels: string; bits: string; seconds: number } {
  const out = (flag: string) => execFileSync('soxi', [flag, path]).toString().trim();
  return { rate: out('-r'), channels: out('-c'), bits: out('-b'), seconds: Number(out('-D')) };
}

let tone: Buffer; // 1 s, 44.1 kHz stereo WAV
let flac: Buffer; // 0.5 s FLAC
let other: Buffer; // 2 s, different content

beforeAll(async () => {
  tone = makeAudio('tone.wav', ['-r', '44100', '-c', '2', '1 sine 440']);
  flac = makeAudio('tone.flac', ['-r', '16000', '-c', '1', '0.5 sine 300']);
  other = makeAudio('other.wav', ['-r', '8000', '-c', '1', '2 sine 1000']);
  server = createServer((req, res) => {
    const path = req.url ?? '/';
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const r = routes.get(path);
    if (r === undefined) {
      res.writeHead(404).end();
      return;
    }
    const send = () => {
      if (r.etag !== undefined && req.headers['if-none-match'] === r.etag) {
        conditional.set(path, (conditional.get(path) ?? 0) + 1);
        res.writeHead(304, { ETag: r.etag, ...r.headers }).end();
        return;
      }
      res.writeHead(200, { 'Content-Length': r.body.length, ...(r.etag ? { ETag: r.etag } : {}), ...r.headers }).end(r.body);
    };
    if (r.delayMs) setTimeout(send, r.delayMs);
    else send();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(work, { recursive: true, force: true });
});

let dirN = 0;
let clock = 1_000_000;
beforeEach(() => {
  routes.clear();
  hits.clear();
  conditional.clear();
  clock = 1_000_000;
});

async function openCache(extra: Partial<Parameters<typeof MediaCache.open>[0]> = {}): Promise<MediaCache> {
  return MediaCache.open({ dir: join(work, `cache-${++dirN}`), now: () => clock, tool: 'sox', ...extra });
}

async function errorCode(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (e) {
    return isMeshError(e) ? e.code : `not a MeshError: ${String(e)}`;
  }
}

describe('MediaCache: Play URLs', () => {
  it('fetches and transcodes once to 8 kHz mono 16-bit WAV under a content address; the second request does neither', async () => {
    routes.set('/tone.wav', { body: tone });
    const c = await openCache();
    const first = await c.getUrl(`${base}/tone.wav`);
    expect(first.outcome).toBe('fetched');
    expect(soxi(first.path)).toMatchObject({ rate: '8000', channels: '1', bits: '16' });
    expect(Math.abs(soxi(first.path).seconds - 1)).toBeLessThan(0.02);
    expect(first.durationMs).toBeGreaterThan(980);
    expect(first.durationMs).toBeLessThan(1020);
    expect(first.address).toBe(createHash('sha256').update(readFileSync(first.path)).digest('hex'));
    expect(first.path.endsWith(`${first.address}.wav`)).toBe(true);

    const second = await c.getUrl(`${base}/tone.wav`);
    expect(second).toMatchObject({ outcome: 'hit', address: first.address, path: first.path });
    expect(hits.get('/tone.wav')).toBe(1);
    expect(c.stats).toMatchObject({ fetches: 1, transcodes: 1, hits: 1 });
    await c.close();
  });

  it('reads other containers (FLAC) too', async () => {
    routes.set('/tone.flac', { body: flac });
    const c = await openCache();
    const m = await c.getUrl(`${base}/tone.flac`);
    expect(soxi(m.path)).toMatchObject({ rate: '8000', channels: '1', bits: '16' });
    expect(Math.abs(m.durationMs - 500)).toBeLessThan(20);
    await c.close();
  });

  it('shares one fetch between concurrent requests for the same URL', async () => {
    routes.set('/slow.wav', { body: tone, delayMs: 200 });
    const c = await openCache();
    const all = await Promise.all(Array.from({ length: 8 }, () => c.getUrl(`${base}/slow.wav`)));
    expect(new Set(all.map((m) => m.address)).size).toBe(1);
    expect(hits.get('/slow.wav')).toBe(1);
    expect(c.stats.transcodes).toBe(1);
    await c.close();
  });

  it('honours max-age: fresh → no request; stale with ETag → 304 revalidation without transcoding', async () => {
    routes.set('/etag.wav', { body: tone, etag: '"v1"', headers: { 'Cache-Control': 'max-age=60' } });
    const c = await openCache();
    const a = await c.getUrl(`${base}/etag.wav`);
    clock += 59_000;
    expect((await c.getUrl(`${base}/etag.wav`)).outcome).toBe('hit');
    expect(hits.get('/etag.wav')).toBe(1);
    clock += 2_000;
    const b = await c.getUrl(`${base}/etag.wav`);
    expect(b).toMatchObject({ outcome: 'revalidated', address: a.address });
    expect(hits.get('/etag.wav')).toBe(2);
    expect(conditional.get('/etag.wav')).toBe(1);
    expect(c.stats).toMatchObject({ transcodes: 1, notModified: 1 });
    // The 304 renewed freshness.
    expect((await c.getUrl(`${base}/etag.wav`)).outcome).toBe('hit');
    expect(hits.get('/etag.wav')).toBe(2);
    await c.close();
  });

  it('no-cache revalidates on every use; a changed body gets a new address', async () => {
    routes.set('/nc.wav', { body: tone, etag: '"a"', headers: { 'Cache-Control': 'no-cache' } });
    const c = await openCache();
    const a = await c.getUrl(`${base}/nc.wav`);
    expect((await c.getUrl(`${base}/nc.wav`)).outcome).toBe('revalidated');
    expect(conditional.get('/nc.wav')).toBe(1);
    routes.set('/nc.wav', { body: other, etag: '"b"', headers: { 'Cache-Control': 'no-cache' } });
    const b = await c.getUrl(`${base}/nc.wav`);
    expect(b.outcome).toBe('fetched');
    expect(b.address).not.toBe(a.address);
    expect(Math.abs(b.durationMs - 2000)).toBeLessThan(20);
    await c.close();
    expect(existsSync(a.path)).toBe(false); // no longer referenced, removed by the time close() resolves
  });

  it('no-store fetches every time (without a conditional request) but does not transcode unchanged bytes twice', async () => {
    routes.set('/ns.wav', { body: tone, etag: '"x"', headers: { 'Cache-Control': 'no-store' } });
    const c = await openCache();
    await c.getUrl(`${base}/ns.wav`);
    const again = await c.getUrl(`${base}/ns.wav`);
    expect(again.outcome).toBe('fetched');
    expect(hits.get('/ns.wav')).toBe(2);
    expect(conditional.get('/ns.wav')).toBeUndefined();
    await c.close();
  });

  it('a stale entry without a validator is refetched, but identical bytes are not transcoded again', async () => {
    routes.set('/plain.wav', { body: tone, headers: { 'Cache-Control': 'max-age=1' } });
    const c = await openCache();
    await c.getUrl(`${base}/plain.wav`);
    clock += 5_000;
    expect((await c.getUrl(`${base}/plain.wav`)).outcome).toBe('fetched');
    expect(hits.get('/plain.wav')).toBe(2);
    expect(c.stats.transcodes).toBe(1);
    await c.close();
  });

  it('two URLs with the same audio share one object', async () => {
    routes.set('/x.wav', { body: tone });
    routes.set('/y.wav', { body: tone });
    const c = await openCache();
    const x = await c.getUrl(`${base}/x.wav`);
    const y = await c.getUrl(`${base}/y.wav`);
    expect(y.address).toBe(x.address);
    expect(c.stats.transcodes).toBe(1);
    await c.close();
  });

  it('evicts the least recently used entries beyond maxBytes', async () => {
    routes.set('/one.wav', { body: tone }); // ~16 KB once converted
    routes.set('/two.wav', { body: other }); // ~32 KB
    routes.set('/three.wav', { body: flac }); // ~8 KB
    const c = await openCache({ maxBytes: 50_000 });
    const one = await c.getUrl(`${base}/one.wav`);
    await c.getUrl(`${base}/three.wav`);
    await c.getUrl(`${base}/one.wav`); // one is now more recent than three
    await c.getUrl(`${base}/two.wav`); // 16 + 8 + 32 KB > 50 KB: evict three (LRU)
    expect(c.stats.evictions).toBe(1);
    expect(c.sizeBytes).toBeLessThanOrEqual(50_000);
    expect((await c.getUrl(`${base}/one.wav`)).outcome).toBe('hit');
    expect(existsSync(one.path)).toBe(true);
    expect((await c.getUrl(`${base}/three.wav`)).outcome).toBe('fetched');
    expect(hits.get('/three.wav')).toBe(2);
    await c.close();
  });

  it('bounds the number of index entries', async () => {
    for (const n of ['a', 'b', 'c']) routes.set(`/${n}.wav`, { body: tone });
    const c = await openCache({ maxEntries: 2 });
    for (const n of ['a', 'b', 'c']) await c.getUrl(`${base}/${n}.wav`);
    expect(c.entryCount).toBe(2);
    expect(c.stats.evictions).toBe(1);
    expect((await c.getUrl(`${base}/c.wav`)).outcome).toBe('hit');
    expect((await c.getUrl(`${base}/a.wav`)).outcome).toBe('fetched');
    await c.close();
  });

  it('keeps its index across a restart', async () => {
    routes.set('/persist.wav', { body: tone });
    const dir = join(work, 'persist');
    const c1 = await MediaCache.open({ dir, tool: 'sox' });
    const a = await c1.getUrl(`${base}/persist.wav`);
    await c1.close();
    await c1.close(); // idempotent
    const c2 = await MediaCache.open({ dir, tool: 'sox' });
    const b = await c2.getUrl(`${base}/persist.wav`);
    expect(b).toMatchObject({ outcome: 'hit', address: a.address });
    expect(hits.get('/persist.wav')).toBe(1);
    expect(c2.stats.transcodes).toBe(0);
    await c2.close();
    expect(await errorCode(c2.getUrl(`${base}/persist.wav`))).toBe('CLOSED');
  });
});

describe('MediaCache: errors', () => {
  it('a non-audio body is UNSUPPORTED_MEDIA_TYPE, never cached', async () => {
    routes.set('/page.html', { body: Buffer.from('<html><body>not audio</body></html>'), headers: { 'Content-Type': 'text/html' } });
    const c = await openCache();
    expect(await errorCode(c.getUrl(`${base}/page.html`))).toBe('UNSUPPORTED_MEDIA_TYPE');
    expect(await errorCode(c.getUrl(`${base}/page.html`))).toBe('UNSUPPORTED_MEDIA_TYPE');
    expect(hits.get('/page.html')).toBe(2);
    expect(c.entryCount).toBe(0);
    await c.close();
  });

  it('a corrupt audio body (valid magic, garbage inside) is UNSUPPORTED_MEDIA_TYPE', async () => {
    const corrupt = Buffer.concat([Buffer.from('RIFF\x24\x00\x00\x00WAVEfmt ', 'latin1'), Buffer.alloc(64, 0xee)]);
    routes.set('/corrupt.wav', { body: corrupt });
    const c = await openCache();
    expect(await errorCode(c.getUrl(`${base}/corrupt.wav`))).toBe('UNSUPPORTED_MEDIA_TYPE');
    await c.close();
  });

  it('bounds size, time and status', async () => {
    routes.set('/big.wav', { body: Buffer.concat([tone, Buffer.alloc(50_000)]) });
    routes.set('/late.wav', { body: tone, delayMs: 1_000 });
    const c = await openCache({ maxFetchBytes: 100_000, fetchTimeoutMs: 200 });
    expect(await errorCode(c.getUrl(`${base}/big.wav`))).toBe('TOO_LARGE');
    expect(await errorCode(c.getUrl(`${base}/late.wav`))).toBe('UPSTREAM_TIMEOUT');
    expect(await errorCode(c.getUrl(`${base}/missing.wav`))).toBe('BAD_GATEWAY');
    expect(await errorCode(c.getUrl('file:///etc/passwd'))).toBe('BAD_REQUEST');
    await c.close();
  });
});

describe('MediaCache: beep', () => {
  it('makes the 500 ms beep once and serves it from the cache afterwards', async () => {
    const c = await openCache();
    const a = await c.getBeep();
    expect(a.outcome).toBe('synthesized');
    expect(soxi(a.path)).toMatchObject({ rate: '8000', channels: '1', bits: '16' });
    expect(a.durationMs).toBe(500);
    expect((await c.getBeep()).outcome).toBe('hit');
    await c.close();
  });
});

describe('MediaCache: speech', () => {
  it('synthesizes with espeak-ng once per voice + language + text', async () => {
    const c = await openCache();
    const a = await c.getSpeech('Your call is important to us.', 'alice', 'en-US');
    expect(a.outcome).toBe('synthesized');
    expect(soxi(a.path)).toMatchObject({ rate: '8000', channels: '1', bits: '16' });
    expect(a.durationMs).toBeGreaterThan(800);
    expect((await c.getSpeech('Your call is important to us.', 'alice', 'en-US')).outcome).toBe('hit');
    const man = await c.getSpeech('Your call is important to us.', 'man', 'en-US');
    expect(man.outcome).toBe('synthesized');
    expect(man.address).not.toBe(a.address);
    expect(c.stats).toMatchObject({ syntheses: 2, hits: 1 });
    // Text that looks like an option is spoken, not interpreted.
    expect((await c.getSpeech('--help -w /tmp/x', 'man', 'en-US')).durationMs).toBeGreaterThan(300);
    expect(await errorCode(c.getSpeech('', 'man', 'en-US'))).toBe('BAD_REQUEST');
    await c.close();
  });

  it('shares one synthesis between concurrent requests', async () => {
    const c = await openCache();
    const all = await Promise.all(Array.from({ length: 5 }, () => c.getSpeech('Please hold.', 'man', 'en-GB')));
    expect(new Set(all.map((m) => m.address)).size).toBe(1);
    expect(c.stats.syntheses).toBe(1);
    await c.close();
  });
});
