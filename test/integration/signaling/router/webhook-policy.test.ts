/**
 * The webhook destination policy against real HTTP servers on loopback
 * (127.0.0.1 and 127.0.0.2 on one port; run in a network namespace of your
 * own). Policies like "allow 127.0.0.1/32, deny 127.0.0.2/32" stand in for
 * "public" and "internal" on a loopback-only machine. Covers: sendWebhook,
 * redirects re-checked at every hop, host names checked after resolution and
 * pinned against rebinding, fetchInstructions falling back with 11205, status
 * callbacks, and the CallRouter wired with a policy (documents, callbacks and
 * Play media through the real media cache).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../../regions/core/log.js';
import { MediaCache } from '../../../../media/cache/index.js';
import { isMeshError } from '../../../../regions/core/errors.js';
import { createDestinationPolicy, isDestinationRefused } from '../../../../regions/net/destination-policy.js';
import { guardedRequest, readBody, type Resolver } from '../../../../regions/net/guarded-request.js';
import type { CallRecord } from '../../../../regions/store/call-records.js';
import { sendStatusCallback } from '../../../../signaling/calls/status-callback.js';
import { fetchInstructions } from '../../../../signaling/router/fetch.js';
import { HostBreakers } from '../../../../signaling/router/host-breakers.js';
import { CallRouter } from '../../../../signaling/router/runner.js';
import { sendWebhook } from '../../../../signaling/webhooks/http.js';
import { redirectTo, respond, startOrigins, type Origins } from '../../../support/http-origins.js';
import { FakeDialer, FakeLeg, FakeQueues, FakeRecordings, xml } from '../../../unit/signaling/router/runner-fakes.js';

const PUBLIC = '127.0.0.1';
const INTERNAL = '127.0.0.2';
/** "Public" 127.0.0.1 reachable, "internal" 127.0.0.2 not. */
const split = createDestinationPolicy({ allow: ['127.0.0.1/32'], deny: ['127.0.0.2/32'] });
const production = createDestinationPolicy({ profile: 'production' });
const TOKEN = 'test-auth-token-0123456789abcdef';

let o: Origins;

beforeAll(async () => {
  o = await startOrigins([PUBLIC, INTERNAL]);
});
afterAll(async () => {
  await o.close();
});
beforeEach(() => {
  o.hits.length = 0;
  o.routes.clear();
  o.routes.set('/hook', respond(200, 'ok'));
  o.routes.set('/doc', respond(200, xml('<Say>public</Say>'), { 'Content-Type': 'text/xml' }));
});

const hook = (url: string, policy = split) => sendWebhook({ method: 'POST', url, params: { CallSid: 'CA1' }, authToken: TOKEN, timeoutMs: 2000, policy });

describe('sendWebhook under a destination policy', () => {
  it('without a policy (the embedded default) loopback is reached, as the examples need', async () => {
    const r = await sendWebhook({ method: 'POST', url: o.url(PUBLIC, '/hook'), params: { CallSid: 'CA1' }, authToken: TOKEN });
    expect(r).toMatchObject({ ok: true, status: 200, body: 'ok' });
    expect(o.hitsOn(PUBLIC)).toHaveLength(1);
  });

  it('production policy: a webhook to 127.0.0.x is refused before any connection', async () => {
    for (const a of [PUBLIC, INTERNAL]) {
      const r = await hook(o.url(a, '/hook'), production);
      expect(r).toMatchObject({ ok: false, status: undefined, refused: true });
      expect(r.error).toBe(`destination ${a}:${o.port} is not allowed by the webhook policy`);
    }
    expect(o.hits).toEqual([]);
  });

  it('allowed host reached, denied host refused (deny wins), and the IPv4-mapped IPv6 spelling is refused too', async () => {
    expect(await hook(o.url(PUBLIC, '/hook'))).toMatchObject({ ok: true, status: 200 });
    expect(await hook(o.url(INTERNAL, '/hook'))).toMatchObject({ ok: false, refused: true });
    expect(await hook(`http://[::ffff:127.0.0.2]:${o.port}/hook`)).toMatchObject({ ok: false, refused: true });
    expect(await hook(`http://[::ffff:7f00:2]:${o.port}/hook`)).toMatchObject({ ok: false, refused: true });
    // Other spellings of an IPv4 address are read by the URL parser first.
    expect(await hook(`http://2130706434:${o.port}/hook`)).toMatchObject({ ok: false, refused: true });
    expect(o.hitsOn(INTERNAL)).toEqual([]);
  });

  it('a redirect from an allowed host to a denied one is refused at that hop', async () => {
    o.routes.set('/jump', redirectTo(o.url(INTERNAL, '/hook')));
    const r = await hook(o.url(PUBLIC, '/jump'));
    expect(r).toMatchObject({ ok: false, refused: true });
    expect(r.error).toBe(`destination ${INTERNAL}:${o.port} is not allowed by the webhook policy`);
    expect(o.hits.map((h) => `${h.address}${h.path}`)).toEqual([`${PUBLIC}/jump`]);
  });

  it('redirects between allowed places are followed (303 turns POST into GET), at most 5', async () => {
    o.routes.set('/see-other', redirectTo('/doc', 303));
    const r = await hook(o.url(PUBLIC, '/see-other'));
    expect(r).toMatchObject({ ok: true, status: 200 });
    expect(o.hits.map((h) => `${h.method} ${h.path}`)).toEqual(['POST /see-other', 'GET /doc']);

    o.hits.length = 0;
    o.routes.set('/loop', redirectTo('/loop', 307));
    const loop = await hook(o.url(PUBLIC, '/loop'));
    expect(loop).toMatchObject({ ok: false, status: undefined });
    expect(loop.error).toMatch(/more than 5 redirects/);
    expect(o.hits).toHaveLength(6);
    // 307 keeps the method and the body.
    expect(o.hits.every((h) => h.method === 'POST' && h.body === 'CallSid=CA1')).toBe(true);
  });

  it('a host name is checked after resolution: localhost is refused in production', async () => {
    const r = await hook(`http://localhost:${o.port}/hook`, production);
    expect(r).toMatchObject({ ok: false, refused: true });
    expect(r.error).toBe(`destination localhost:${o.port} is not allowed by the webhook policy`);
    expect(o.hits).toEqual([]);
  });

  it('deny wins even over an exact allow entry', async () => {
    const onlyOne = createDestinationPolicy({ allow: ['127.0.0.1/32'], deny: ['127.0.0.0/8'] });
    expect(await hook(o.url(PUBLIC, '/hook'), onlyOne)).toMatchObject({ ok: false, refused: true });
    expect(o.hits).toEqual([]);
  });
});

describe('guardedRequest: resolution is pinned', () => {
  it('connects to the address it checked, even when the name resolves elsewhere a moment later (DNS rebinding)', async () => {
    let lookups = 0;
    const rebinding: Resolver = async () => {
      lookups++;
      return [{ address: lookups === 1 ? PUBLIC : INTERNAL, family: 4 }];
    };
    const signal = AbortSignal.timeout(2000);
    const res = await guardedRequest({ method: 'GET', url: `http://rebind.test:${o.port}/hook`, policy: split, signal, resolve: rebinding });
    expect(res.status).toBe(200);
    expect((await readBody(res.body, 1024, signal, 'body')).bytes.toString()).toBe('ok');
    expect(res.address).toBe(PUBLIC);
    expect(lookups).toBe(1);
    expect(o.hits.map((h) => h.address)).toEqual([PUBLIC]);
  });

  it('a redirect to a host name resolving to a denied address is refused at that hop', async () => {
    const names: Resolver = async (host) => [{ address: host === 'internal.test' ? INTERNAL : PUBLIC, family: 4 }];
    o.routes.set('/to-name', redirectTo(`http://internal.test:${o.port}/hook`));
    const e = await guardedRequest({ method: 'GET', url: o.url(PUBLIC, '/to-name'), policy: split, signal: AbortSignal.timeout(2000), resolve: names }).catch((x: unknown) => x);
    expect(isDestinationRefused(e)).toBe(true);
    expect((e as Error).message).toBe(`destination internal.test:${o.port} is not allowed by the webhook policy`);
    expect(o.hits.map((h) => `${h.address}${h.path}`)).toEqual([`${PUBLIC}/to-name`]);
  });

  it('refuses a name when any of its addresses is denied (the connection could fall over to it)', async () => {
    const both: Resolver = async () => [{ address: PUBLIC, family: 4 }, { address: INTERNAL, family: 4 }];
    const e = await guardedRequest({ method: 'GET', url: `http://mixed.test:${o.port}/hook`, policy: split, signal: AbortSignal.timeout(2000), resolve: both }).catch((x: unknown) => x);
    expect(isDestinationRefused(e)).toBe(true);
    expect((e as Error).message).toBe(`destination mixed.test:${o.port} is not allowed by the webhook policy`);
    expect(o.hits).toEqual([]);
  });

  it('a resolver that never answers is bounded by the signal', async () => {
    const stuck: Resolver = () => new Promise(() => undefined);
    const started = Date.now();
    const e = await guardedRequest({ method: 'GET', url: 'http://stuck.test/', policy: split, signal: AbortSignal.timeout(200), resolve: stuck }).catch((x: unknown) => x);
    expect(isMeshError(e, 'UPSTREAM_TIMEOUT')).toBe(true);
    expect(Date.now() - started).toBeLessThan(1000);
  });
});

describe('fetchInstructions: a refused URL fails like an unreachable one', () => {
  it('primary refused → fallback with ErrorCode 11205 and ErrorUrl; the host breaker stays closed', async () => {
    const breakers = new HostBreakers();
    const primary = o.url(INTERNAL, '/doc');
    const fallback = o.url(PUBLIC, '/doc');
    for (let i = 0; i < 4; i++) {
      o.hits.length = 0;
      const r = await fetchInstructions({
        primary: { url: primary, method: 'POST' },
        fallback: { url: fallback, method: 'POST' },
        params: { CallSid: 'CA1' },
        authToken: TOKEN,
        timeoutMs: 2000,
        breakers,
        policy: split,
      });
      expect(r.source).toBe('fallback');
      // Not "circuit open" after repeated refusals: the message keeps saying why.
      expect(r.primaryError).toEqual({ code: 11205, url: primary, message: `destination ${INTERNAL}:${o.port} is not allowed by the webhook policy` });
      expect(o.hits.map((h) => `${h.address}${h.path}`)).toEqual([`${PUBLIC}/doc`]);
      expect(new URLSearchParams(o.hits[0]!.body).get('ErrorCode')).toBe('11205');
      expect(new URLSearchParams(o.hits[0]!.body).get('ErrorUrl')).toBe(primary);
    }
  });
});

describe('status callbacks', () => {
  it('are not sent to a denied destination', async () => {
    const rec = { sid: 'CA1', accountSid: 'AC1', from: '+15550001111', to: '+15550002222', status: 'completed', direction: 'inbound', duration: 3 } as unknown as CallRecord;
    const send = (url: string) => sendStatusCallback({ target: { url, method: 'POST' }, rec, event: 'completed', sequence: 0, authToken: TOKEN, timeoutMs: 2000, policy: split });
    expect(await send(o.url(INTERNAL, '/hook'))).toMatchObject({ ok: false, refused: true });
    expect(await send(o.url(PUBLIC, '/hook'))).toMatchObject({ ok: true, status: 200 });
    expect(o.hits.map((h) => h.address)).toEqual([PUBLIC]);
  });
});

describe('CallRouter with a webhook policy', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'webhook-policy-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('a refused application URL runs the fallback; a refused Play URL and the refusals are reported to the status callback as 11205', async () => {
    const reports: URLSearchParams[] = [];
    o.routes.set('/status', (_req, res, body) => {
      reports.push(new URLSearchParams(body));
      res.writeHead(204).end();
    });
    const mediaUrl = o.url(INTERNAL, '/tone.wav');
    o.routes.set('/fallback', respond(200, xml(`<Play>${mediaUrl}</Play>`), { 'Content-Type': 'text/xml' }));
    const cache = await MediaCache.open({ dir, tool: 'sox', destinationPolicy: split });
    const router = new CallRouter({
      media: { speech: (t, v, l) => cache.getSpeech(t, v, l), url: (u) => cache.getUrl(u), beep: () => cache.getBeep() },
      dialer: new FakeDialer(),
      queues: new FakeQueues(),
      recordings: new FakeRecordings(),
      log: silentLogger,
      webhookPolicy: split,
    });
    const app = o.url(INTERNAL, '/doc');
    const s = await router.run({
      leg: new FakeLeg('CA7', { answered: true }),
      authToken: TOKEN,
      app: { url: app, method: 'POST', fallbackUrl: o.url(PUBLIC, '/fallback'), fallbackMethod: 'POST' },
      params: { CallSid: 'CA7', AccountSid: 'AC1', From: '+15550001111', To: '+15550002222', Direction: 'inbound', ApiVersion: '2010-04-01' },
      statusCallback: { url: o.url(PUBLIC, '/status'), method: 'POST' },
    });
    await router.close();
    await cache.close();

    expect(s.ended).toBe('completed');
    expect(s.errors.map((e) => [e.code, e.url])).toEqual([[11205, app], [11205, mediaUrl]]);
    expect(reports.map((r) => [r.get('ErrorCode'), r.get('ErrorUrl')])).toEqual([['11205', app], ['11205', mediaUrl]]);
    for (const r of reports) expect(r.get('ErrorMessage')).toMatch(new RegExp(`destination ${INTERNAL}:${o.port} is not allowed by the webhook policy`));
    // Nothing reached the internal address: not the document, not the media.
    expect(o.hitsOn(INTERNAL)).toEqual([]);
    const fb = o.hits.find((h) => h.path === '/fallback')!;
    expect(new URLSearchParams(fb.body).get('ErrorCode')).toBe('11205');
    expect(new URLSearchParams(fb.body).get('ErrorUrl')).toBe(app);
  });
});
