/**
 * fetchInstructions + HostBreakers with a fake `fetch` and fake timers: the
 * breaker logic is pure; the real HTTP paths are in test/integration/signaling/router.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MeshError } from '../../../../regions/core/errors.js';
import type { GuardedRequestOptions } from '../../../../regions/net/guarded-request.js';
import { fetchInstructions } from '../../../../signaling/router/fetch.js';
import { HostBreakers } from '../../../../signaling/router/host-breakers.js';
import { fakeGuardedRequest, type FakeFetch } from './fake-http.js';

// sendWebhook talks HTTP through guardedRequest (the destination policy's client), not the global fetch.
const fake = vi.hoisted(() => ({ handler: undefined as FakeFetch | undefined }));
vi.mock('../../../../regions/net/guarded-request.js', async (orig) => ({
  ...(await orig<object>()),
  guardedRequest: (o: GuardedRequestOptions) => fakeGuardedRequest(o, fake.handler),
}));
const setFetch = (h: FakeFetch): void => {
  fake.handler = h;
};

const OK = '<Response><Say>ok</Say></Response>';
const PRIMARY = { url: 'http://primary.test/voice', method: 'POST' as const };
const FALLBACK = { url: 'http://fallback.test/voice', method: 'POST' as const };

let calls: { url: string; body: string }[];
let behaviour: Record<string, () => Response>;

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  calls = [];
  behaviour = {};
  setFetch(async (input: string | URL, init: RequestInit) => {
    const url = String(input);
    calls.push({ url, body: String(init.body ?? '') });
    const host = new URL(url).host;
    const b = behaviour[host];
    if (b === undefined) throw new TypeError('fetch failed');
    return b();
  });
});

afterEach(() => {
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

function run(breakers: HostBreakers) {
  return fetchInstructions({ primary: PRIMARY, fallback: FALLBACK, params: { CallSid: 'CA1' }, authToken: 't', breakers });
}

describe('HostBreakers', () => {
  it('keeps one breaker per origin and forgets the least recently used beyond maxHosts', () => {
    const hb = new HostBreakers({ maxHosts: 2 });
    const a = hb.forUrl('http://a.test/x');
    expect(hb.forUrl('http://a.test/y?z')).toBe(a);
    expect(hb.forUrl('http://a.test:8080/x')).not.toBe(a);
    hb.forUrl('http://b.test/');
    expect(hb.size).toBe(2);
    expect(hb.forUrl('http://a.test/x')).not.toBe(a); // evicted, a new one
  });
});

describe('fetchInstructions with breakers', () => {
  it('uses the primary when it answers', async () => {
    behaviour['primary.test'] = () => new Response(OK, { status: 200 });
    const r = await run(new HostBreakers());
    expect(r.source).toBe('primary');
    expect(r.primaryError).toBeUndefined();
    expect(calls).toHaveLength(1);
  });

  it('opens the primary host breaker after 3 failures, then skips it until openMs passes', async () => {
    behaviour['fallback.test'] = () => new Response(OK, { status: 200 });
    const breakers = new HostBreakers({ failureThreshold: 3, openMs: 10_000 });
    for (let i = 0; i < 3; i++) expect((await run(breakers)).source).toBe('fallback');
    expect(calls.filter((c) => c.url.startsWith('http://primary')).length).toBe(3);

    const skipped = await run(breakers);
    expect(skipped.source).toBe('fallback');
    expect(skipped.primaryError).toMatchObject({ code: 11205, url: PRIMARY.url });
    expect(skipped.primaryError!.message).toMatch(/host unavailable/);
    expect(calls.filter((c) => c.url.startsWith('http://primary')).length).toBe(3); // not asked

    vi.advanceTimersByTime(10_000);
    behaviour['primary.test'] = () => new Response(OK, { status: 200 });
    expect((await run(breakers)).source).toBe('primary'); // the trial call closes it
    expect(breakers.forUrl(PRIMARY.url).state).toBe('closed');
  });

  it('counts 5xx against the breaker but not 4xx', async () => {
    behaviour['fallback.test'] = () => new Response(OK, { status: 200 });
    const breakers = new HostBreakers({ failureThreshold: 2 });
    behaviour['primary.test'] = () => new Response('nope', { status: 404 });
    for (let i = 0; i < 3; i++) expect((await run(breakers)).primaryError?.code).toBe(11200);
    expect(breakers.forUrl(PRIMARY.url).state).toBe('closed');
    behaviour['primary.test'] = () => new Response('boom', { status: 503 });
    await run(breakers);
    await run(breakers);
    expect(breakers.forUrl(PRIMARY.url).state).toBe('open');
  });

  it('does not open the breaker for an unparseable document from a healthy host', async () => {
    behaviour['fallback.test'] = () => new Response(OK, { status: 200 });
    behaviour['primary.test'] = () => new Response('<html>', { status: 200 });
    const breakers = new HostBreakers({ failureThreshold: 1 });
    const r = await run(breakers);
    expect(r.primaryError?.code).toBe(12100);
    expect(breakers.forUrl(PRIMARY.url).state).toBe('closed');
  });

  it('throws a MeshError carrying both errors when no URL yields a document', async () => {
    const breakers = new HostBreakers();
    const e = await run(breakers).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(MeshError);
    expect((e as MeshError).detail).toMatchObject({
      dialectCode: 11205,
      primaryError: { code: 11205, url: PRIMARY.url },
      fallbackError: { code: 11205, url: FALLBACK.url },
    });
  });

  it('without a fallback, throws the primary error', async () => {
    behaviour['primary.test'] = () => new Response('<Response><Dance/></Response>', { status: 200 });
    const e = await fetchInstructions({ primary: PRIMARY, params: {}, authToken: 't', breakers: new HostBreakers() }).catch((x: unknown) => x);
    expect((e as MeshError).detail).toMatchObject({ dialectCode: 12200, primaryError: { code: 12200 } });
  });
});
