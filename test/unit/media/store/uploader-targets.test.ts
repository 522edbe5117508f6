/**
 * BranchUploader: per-entry central services, the onDelivered hook that
 * gates removal from the queue, and retryNow() (the region link came back).
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { UploadEntry } from '../../../../media/store/manifest.js';
import { BranchUploader, type UploaderOptions } from '../../../../media/store/uploader.js';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
  vi.useRealTimers();
});

function setup(): { manifestPath: string; entry: { callSid: string; branchId: string; path: string; sha256: string; bytes: number; start: null; packets: number; lost: number } } {
  const dir = mkdtempSync(join(tmpdir(), 'uploader-targets-'));
  const body = Buffer.from('RIFF....WAVEother');
  const path = join(dir, 'b.wav');
  writeFileSync(path, body);
  const sha256 = createHash('sha256').update(body).digest('hex');
  return { manifestPath: join(dir, 'upload-manifest.json'), entry: { callSid: 'CA9', branchId: 'caller', path, sha256, bytes: body.length, start: null, packets: 1, lost: 0 } };
}

const json = (status: number, body: unknown): Response => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

/** A fake central service answering by a function of the request. */
function fakeCentral(answer: (url: string) => Response | Error, urls: string[] = []): typeof fetch {
  return (async (url: string | URL | Request) => {
    urls.push(String(url));
    const a = answer(String(url));
    if (a instanceof Error) throw a;
    return a;
  }) as typeof fetch;
}

async function start(opts: Omit<UploaderOptions, 'backoff'> & { backoff?: UploaderOptions['backoff'] }): Promise<BranchUploader> {
  const u = await BranchUploader.start({ backoff: { initialMs: 5, maxMs: 20, factor: 2, jitter: 0 }, ...opts });
  closers.push(() => u.close());
  return u;
}

describe('BranchUploader targets and hooks', () => {
  it('uploads each entry to the central service it names, and persists that URL and the account', async () => {
    const { manifestPath, entry } = setup();
    const urls: string[] = [];
    let down = true;
    const u = await start({ manifestPath, fetch: fakeCentral(() => (down ? new TypeError('fetch failed') : json(201, { sha256: entry.sha256 })), urls) });
    await u.enqueue({ ...entry, centralUrl: 'http://home-a.test:8090/', accountSid: 'AC1' });
    await u.enqueue({ ...entry, branchId: 'callee', centralUrl: 'http://home-b.test:8090' });
    const saved = JSON.parse(readFileSync(manifestPath, 'utf8')).entries as UploadEntry[];
    expect(saved.map((e) => [e.centralUrl, e.accountSid])).toEqual([
      ['http://home-a.test:8090/', 'AC1'],
      ['http://home-b.test:8090', undefined],
    ]);
    down = false;
    await Promise.all([u.whenSettled('CA9', 'caller'), u.whenSettled('CA9', 'callee')]);
    expect(urls).toContain('http://home-a.test:8090/branches/CA9/caller');
    expect(urls).toContain('http://home-b.test:8090/branches/CA9/callee');
  });

  it('refuses an entry with no central service, or one that is not an http URL', async () => {
    const { manifestPath, entry } = setup();
    const u = await start({ manifestPath, fetch: fakeCentral(() => json(500, {})) });
    await expect(u.enqueue(entry)).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    await expect(u.enqueue({ ...entry, centralUrl: 'file:///etc/passwd' })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    expect(u.list()).toEqual([]);
  });

  it('keeps an entry queued while onDelivered fails, and removes it once the hook succeeds', async () => {
    const { manifestPath, entry } = setup();
    const seen: UploadEntry[] = [];
    let hookFailures = 2;
    const u = await start({
      manifestPath,
      centralUrl: 'http://central.test',
      fetch: fakeCentral(() => json(200, { sha256: entry.sha256 })),
      onDelivered: (e) => {
        if (hookFailures-- > 0) throw new Error('redis down');
        seen.push(e);
      },
    });
    await u.enqueue({ ...entry, accountSid: 'AC7' });
    expect(await u.whenSettled('CA9', 'caller')).toMatchObject({ delivered: true });
    expect(u.attempts).toBe(3);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ callSid: 'CA9', branchId: 'caller', accountSid: 'AC7', sha256: entry.sha256 });
    expect(u.list()).toEqual([]);
  });

  it('retryNow() makes a backed-off entry due at once', async () => {
    vi.useFakeTimers();
    const { manifestPath, entry } = setup();
    let down = true;
    const u = await start({
      manifestPath,
      centralUrl: 'http://central.test',
      backoff: { initialMs: 60_000, maxMs: 60_000, jitter: 0 },
      fetch: fakeCentral(() => (down ? new TypeError('fetch failed') : json(201, { sha256: entry.sha256 }))),
    });
    await u.enqueue(entry);
    // The first attempt fails (its file read and manifest write are real I/O) and backs off for a minute.
    await vi.waitFor(() => expect(u.list()[0]?.attempts).toBe(1));
    expect(u.attempts).toBe(1);
    expect(u.list()[0]?.nextAttemptAt).toBeGreaterThan(Date.now() + 50_000);
    down = false;
    // Without retryNow nothing happens for a minute.
    await vi.advanceTimersByTimeAsync(1000);
    expect(u.attempts).toBe(1);
    u.retryNow();
    await vi.advanceTimersByTimeAsync(10);
    await vi.waitFor(() => expect(u.list()).toEqual([]));
    expect(u.attempts).toBe(2);
  });
});
