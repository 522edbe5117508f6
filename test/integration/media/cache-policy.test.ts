/**
 * Play media fetches under the webhook destination policy, against real HTTP
 * servers on 127.0.0.1 ("public") and 127.0.0.2 ("internal") on one port, with
 * real sox (run in a network namespace of your own): refused before any
 * connection, also at a redirect hop and for a host name, while allowed
 * fetches (redirects included) still work.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { fetchMedia } from '../../../media/cache/http-fetch.js';
import { MediaCache } from '../../../media/cache/media-cache.js';
import { createDestinationPolicy, isDestinationRefused } from '../../../regions/net/destination-policy.js';
import { redirectTo, respond, startOrigins, type Origins } from '../../support/http-origins.js';

const PUBLIC = '127.0.0.1';
const INTERNAL = '127.0.0.2';
const split = createDestinationPolicy({ allow: ['127.0.0.1/32'], deny: ['127.0.0.2/32'] });
const production = createDestinationPolicy({ profile: 'production' });

let o: Origins;
let dir: string;
let tone: Buffer;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cache-policy-'));
  execFileSync('sox', ['-n', '-r', '8000', '-c', '1', join(dir, 'tone.wav'), 'synth', '0.3', 'sine', '440']);
  tone = readFileSync(join(dir, 'tone.wav'));
  o = await startOrigins([PUBLIC, INTERNAL]);
});
afterAll(async () => {
  await o.close();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  o.hits.length = 0;
  o.routes.clear();
  o.routes.set('/tone.wav', respond(200, tone, { 'Content-Type': 'audio/wav' }));
});

async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'fetched';
  } catch (e) {
    return isDestinationRefused(e) ? (e as Error).message : `other error: ${(e as Error).message}`;
  }
}

describe('fetchMedia under a destination policy', () => {
  it('production: media on 127.0.0.x or localhost is refused before any connection', async () => {
    for (const url of [o.url(PUBLIC, '/tone.wav'), o.url(INTERNAL, '/tone.wav'), `http://localhost:${o.port}/tone.wav`, `http://[::ffff:127.0.0.1]:${o.port}/tone.wav`]) {
      expect(await refusal(fetchMedia(url, { timeoutMs: 2000, maxBytes: 1 << 20, policy: production }))).toMatch(/is not allowed by the webhook policy$/);
    }
    expect(o.hits).toEqual([]);
  });

  it('allowed host fetched, denied host refused, redirect from allowed to denied refused at that hop', async () => {
    const ok = await fetchMedia(o.url(PUBLIC, '/tone.wav'), { timeoutMs: 2000, maxBytes: 1 << 20, policy: split });
    expect(ok).toMatchObject({ status: 'ok', contentType: 'audio/wav' });
    expect(await refusal(fetchMedia(o.url(INTERNAL, '/tone.wav'), { timeoutMs: 2000, maxBytes: 1 << 20, policy: split }))).toBe(
      `media fetch ${o.url(INTERNAL, '/tone.wav')}: destination ${INTERNAL}:${o.port} is not allowed by the webhook policy`,
    );
    o.routes.set('/moved.wav', redirectTo(o.url(INTERNAL, '/tone.wav'), 301));
    expect(await refusal(fetchMedia(o.url(PUBLIC, '/moved.wav'), { timeoutMs: 2000, maxBytes: 1 << 20, policy: split }))).toMatch(
      new RegExp(`destination ${INTERNAL}:${o.port} is not allowed`),
    );
    expect(o.hitsOn(INTERNAL)).toEqual([]);
  });
});

describe('MediaCache with a destination policy', () => {
  it('refuses a Play URL the policy denies, and still fetches (through redirects) what it allows', async () => {
    const cache = await MediaCache.open({ dir: join(dir, 'cache'), tool: 'sox', destinationPolicy: split });
    o.routes.set('/moved.wav', redirectTo('/tone.wav', 302));
    o.routes.set('/away.wav', redirectTo(o.url(INTERNAL, '/tone.wav'), 307));
    expect(await refusal(cache.getUrl(o.url(INTERNAL, '/tone.wav')))).toMatch(/is not allowed by the webhook policy$/);
    expect(await refusal(cache.getUrl(o.url(PUBLIC, '/away.wav')))).toMatch(/is not allowed by the webhook policy$/);
    const m = await cache.getUrl(o.url(PUBLIC, '/moved.wav'));
    expect(m.outcome).toBe('fetched');
    expect(Math.abs(m.durationMs - 300)).toBeLessThan(20);
    expect(o.hits.map((h) => `${h.address}${h.path}`)).toEqual([`${PUBLIC}/away.wav`, `${PUBLIC}/moved.wav`, `${PUBLIC}/tone.wav`]);
    await cache.close();
  });
});
