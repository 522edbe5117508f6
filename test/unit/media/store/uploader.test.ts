import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BranchUploader } from '../../../../media/store/uploader.js';

const FAST = { initialMs: 5, maxMs: 20, factor: 2, jitter: 0 };
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

function setup(): { dir: string; manifestPath: string; entry: { callSid: string; branchId: string; path: string; sha256: string; bytes: number; start: string; packets: number; lost: number } } {
  const dir = mkdtempSync(join(tmpdir(), 'uploader-'));
  const body = Buffer.from('RIFF....WAVEfake');
  const path = join(dir, 'b.wav');
  writeFileSync(path, body);
  const sha256 = createHash('sha256').update(body).digest('hex');
  return { dir, manifestPath: join(dir, 'upload-manifest.json'), entry: { callSid: 'CA1', branchId: 'b1', path, sha256, bytes: body.length, start: '2026-01-01T00:00:00.000Z', packets: 3, lost: 0 } };
}

/** A fake central service: answers from a script of responses (or throws like a refused connection). */
function scripted(script: (Response | Error)[], calls: { url: string; headers: Headers; body: Buffer }[] = []): typeof fetch {
  return (async (url: string | URL | Request, init?: RequestInit) => {
    calls.push({ url: String(url), headers: new Headers(init?.headers), body: Buffer.from(init?.body as Uint8Array) });
    const next = script.length > 1 ? script.shift() : script[0];
    if (next instanceof Error) throw next;
    return (next as Response).clone();
  }) as typeof fetch;
}

const json = (status: number, body: unknown): Response => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

async function start(manifestPath: string, f: typeof fetch): Promise<BranchUploader> {
  const u = await BranchUploader.start({ centralUrl: 'http://central.test', manifestPath, fetch: f, backoff: FAST });
  closers.push(() => u.close());
  return u;
}

describe('BranchUploader', () => {
  it('retries through refused connections and 5xx until the service confirms the checksum', async () => {
    const { manifestPath, entry } = setup();
    const calls: { url: string; headers: Headers; body: Buffer }[] = [];
    const u = await start(manifestPath, scripted([new TypeError('fetch failed: ECONNREFUSED'), json(503, {}), json(201, { sha256: entry.sha256 })], calls));
    await u.enqueue(entry);
    const outcome = await u.whenSettled('CA1', 'b1');
    expect(outcome).toEqual({ callSid: 'CA1', branchId: 'b1', sha256: entry.sha256, delivered: true });
    expect(calls.length).toBe(3);
    expect(calls[2]?.url).toBe('http://central.test/branches/CA1/b1');
    expect(calls[2]?.headers.get('x-content-sha256')).toBe(entry.sha256);
    expect(calls[2]?.headers.get('x-branch-packets')).toBe('3');
    expect(calls[2]?.body.equals(readFileSync(entry.path))).toBe(true);
    expect(u.list()).toEqual([]);
    await u.close();
    expect(JSON.parse(readFileSync(manifestPath, 'utf8')).entries).toEqual([]);
  });

  it('keeps retrying when a 2xx does not carry our checksum, and on a 409 checksum mismatch', async () => {
    const { manifestPath, entry } = setup();
    const u = await start(manifestPath, scripted([json(200, { sha256: 'f'.repeat(64) }), json(409, { detail: { expected: entry.sha256, actual: 'x' } }), json(200, { sha256: entry.sha256 })]));
    await u.enqueue(entry);
    expect((await u.whenSettled('CA1', 'b1')).delivered).toBe(true);
    expect(u.attempts).toBe(3);
  });

  it('persists the queue: a new uploader on the same manifest delivers what the old one could not', async () => {
    const { manifestPath, entry } = setup();
    const down = await start(manifestPath, scripted([new TypeError('fetch failed')]));
    await down.enqueue(entry);
    await new Promise((r) => setTimeout(r, 60));
    expect(down.attempts).toBeGreaterThan(1);
    await down.close();
    const saved = JSON.parse(readFileSync(manifestPath, 'utf8')).entries;
    expect(saved).toHaveLength(1);
    expect(saved[0]).toMatchObject({ callSid: 'CA1', branchId: 'b1', state: 'pending', sha256: entry.sha256 });
    expect(saved[0].attempts).toBeGreaterThan(0);
    const up = await start(manifestPath, scripted([json(201, { sha256: entry.sha256 })]));
    expect(up.list()).toHaveLength(1);
    expect((await up.whenSettled('CA1', 'b1')).delivered).toBe(true);
  });

  it('gives up on a conflicting stored copy or a missing local file, keeping the entry as failed', async () => {
    const { manifestPath, entry } = setup();
    const u = await start(manifestPath, scripted([json(409, { detail: { stored: 'a'.repeat(64), actual: entry.sha256 } })]));
    await u.enqueue(entry);
    expect(await u.whenSettled('CA1', 'b1')).toMatchObject({ delivered: false, error: expect.stringMatching(/different copy/) });
    await u.enqueue({ ...entry, branchId: 'gone', path: join(entry.path, '..', 'missing.wav') });
    expect((await u.whenSettled('CA1', 'gone')).delivered).toBe(false);
    expect(u.list().map((e) => e.state)).toEqual(['failed', 'failed']);
    expect(u.attempts).toBe(2);
  });

  it('enqueue is idempotent and bounded', async () => {
    const { manifestPath, entry } = setup();
    const u = await BranchUploader.start({ centralUrl: 'http://central.test', manifestPath, fetch: scripted([new TypeError('down')]), backoff: { initialMs: 10_000, jitter: 0 }, maxEntries: 2 });
    closers.push(() => u.close());
    await u.enqueue(entry);
    await u.enqueue(entry);
    await u.enqueue({ ...entry, branchId: 'b2' });
    expect(u.list()).toHaveLength(2);
    await expect(u.enqueue({ ...entry, branchId: 'b3' })).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
    await u.close();
    await u.close();
    await expect(u.enqueue({ ...entry, branchId: 'b4' })).rejects.toMatchObject({ code: 'CLOSED' });
  });
});
