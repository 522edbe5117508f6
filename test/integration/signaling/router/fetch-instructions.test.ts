/**
 * fetchInstructions against a real HTTP application server (hono on
 * 127.0.0.1, port 0): primary failures of each kind lead to the fallback
 * with ErrorCode/ErrorUrl, both failing gives a typed error, and the
 * signature validates with the official twilio library.
 */
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import twilio from 'twilio';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MeshError } from '../../../../regions/core/errors.js';
import { fetchInstructions, type FetchInstructionsOptions } from '../../../../signaling/router/fetch.js';
import { HostBreakers } from '../../../../signaling/router/host-breakers.js';

const TOKEN = 'test-auth-token-0123456789abcdef';
const PARAMS = { CallSid: 'CA0123', AccountSid: 'AC0456', From: '+15550001111', To: '+15552223333', CallStatus: 'ringing', Direction: 'inbound', ApiVersion: '2010-04-01' };

interface Seen {
  path: string;
  method: string;
  url: string;
  params: Record<string, string>;
  signature: string | undefined;
}

let server: ServerType;
let base: string;
let seen: Seen[] = [];

const ok = (say: string) => `<?xml version="1.0" encoding="UTF-8"?><Response><Say>${say}</Say></Response>`;

function buildApp(): Hono {
  const app = new Hono();
  app.use('*', async (c, next) => {
    const params: Record<string, string> = {};
    if (c.req.method === 'POST') {
      const form = await c.req.parseBody();
      for (const [k, v] of Object.entries(form)) params[k] = String(v);
    }
    seen.push({ path: c.req.path, method: c.req.method, url: c.req.url, params, signature: c.req.header('X-Twilio-Signature') });
    await next();
  });
  app.all('/ok', (c) => c.body(ok('primary'), 200, { 'Content-Type': 'text/xml' }));
  app.all('/fallback', (c) => c.body(ok('fallback'), 200, { 'Content-Type': 'text/xml' }));
  app.all('/error500', (c) => c.text('internal error', 500));
  app.all('/slow', async (c) => {
    await new Promise((r) => setTimeout(r, 1500));
    return c.body(ok('too late'), 200);
  });
  app.all('/garbage', (c) => c.body('<html><body>Not XML at all', 200, { 'Content-Type': 'text/html' }));
  app.all('/invalid', (c) => c.body('<Response><Dance/></Response>', 200, { 'Content-Type': 'text/xml' }));
  app.all('/huge', (c) => c.body(`<Response><Say>${'blah '.repeat(20_000)}</Say></Response>`, 200));
  app.all('/twilio-lib', (c) => {
    const r = new twilio.twiml.VoiceResponse();
    r.say({ voice: 'alice', language: 'en-GB', loop: 2 }, 'Welcome to the mesh');
    const g = r.gather({ numDigits: 2, action: '/gathered', method: 'GET', timeout: 4, finishOnKey: '*' });
    g.play({ loop: 1 }, 'https://media.example.com/menu.wav');
    g.pause({ length: 2 });
    r.record({ maxLength: 30, playBeep: false, action: 'recorded', recordingStatusCallback: '/rec-status' });
    const d = r.dial({ timeout: 15, callerId: '+15550009999', action: '/dialed', record: 'record-from-answer' });
    d.number({ sendDigits: '1w2' }, '+15554445555');
    d.sip('sip:alice@example.com');
    r.enqueue({ waitUrl: '/wait', waitUrlMethod: 'GET' }, 'support');
    r.redirect({ method: 'POST' }, '/next');
    r.reject({ reason: 'busy' });
    return c.body(r.toString(), 200, { 'Content-Type': 'text/xml' });
  });
  return app;
}

beforeAll(async () => {
  server = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch: buildApp().fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(s));
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  seen = [];
});

function opts(primaryPath: string, fallbackPath: string | undefined, extra: Partial<FetchInstructionsOptions> = {}): FetchInstructionsOptions {
  return {
    primary: { url: `${base}${primaryPath}`, method: 'POST' },
    fallback: fallbackPath === undefined ? undefined : { url: `${base}${fallbackPath}`, method: 'POST' },
    params: PARAMS,
    authToken: TOKEN,
    timeoutMs: 500,
    breakers: new HostBreakers(),
    ...extra,
  };
}

describe('fetchInstructions over HTTP', () => {
  it('fetches and parses the primary document with signed parameters', async () => {
    const r = await fetchInstructions(opts('/ok', '/fallback'));
    expect(r.source).toBe('primary');
    expect(r.document.verbs).toEqual([{ verb: 'Say', text: 'primary', voice: 'man', language: 'en-US', loop: 1 }]);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.params).toEqual(PARAMS);
    // The official helper library accepts our signature unchanged.
    expect(twilio.validateRequest(TOKEN, seen[0]!.signature!, seen[0]!.url, seen[0]!.params)).toBe(true);
    expect(twilio.validateRequest('wrong-token', seen[0]!.signature!, seen[0]!.url, seen[0]!.params)).toBe(false);
  });

  it('signs GET requests over the URL with its query, as the library expects', async () => {
    const r = await fetchInstructions(opts('/ok', undefined, { primary: { url: `${base}/ok?app=1`, method: 'GET' } }));
    expect(r.source).toBe('primary');
    const s = seen[0]!;
    expect(s.method).toBe('GET');
    expect(new URL(s.url).searchParams.get('CallSid')).toBe('CA0123');
    expect(twilio.validateRequest(TOKEN, s.signature!, s.url, {})).toBe(true);
  });

  it('primary 500 → fallback with ErrorCode 11200 and ErrorUrl, also signed', async () => {
    const r = await fetchInstructions(opts('/error500', '/fallback'));
    expect(r.source).toBe('fallback');
    expect(r.document.verbs[0]).toMatchObject({ verb: 'Say', text: 'fallback' });
    expect(r.primaryError).toMatchObject({ code: 11200, url: `${base}/error500` });
    const fb = seen.find((s) => s.path === '/fallback')!;
    expect(fb.params).toMatchObject({ ...PARAMS, ErrorCode: '11200', ErrorUrl: `${base}/error500` });
    expect(twilio.validateRequest(TOKEN, fb.signature!, fb.url, fb.params)).toBe(true);
  });

  it('primary timeout → fallback with ErrorCode 11205, within the per-application timeout', async () => {
    const started = Date.now();
    const r = await fetchInstructions(opts('/slow', '/fallback', { timeoutMs: 300 }));
    expect(Date.now() - started).toBeLessThan(1200);
    expect(r.source).toBe('fallback');
    expect(r.primaryError).toMatchObject({ code: 11205, url: `${base}/slow` });
    expect(seen.find((s) => s.path === '/fallback')!.params['ErrorCode']).toBe('11205');
  });

  it('connection refused → fallback with ErrorCode 11205', async () => {
    const r = await fetchInstructions(opts('/ok', '/fallback', { primary: { url: 'http://127.0.0.1:1/voice', method: 'POST' } }));
    expect(r.source).toBe('fallback');
    expect(r.primaryError).toMatchObject({ code: 11205, url: 'http://127.0.0.1:1/voice' });
  });

  it('garbage → fallback with ErrorCode 12100', async () => {
    const r = await fetchInstructions(opts('/garbage', '/fallback'));
    expect(r.source).toBe('fallback');
    expect(r.primaryError!.code).toBe(12100);
    expect(seen.find((s) => s.path === '/fallback')!.params['ErrorCode']).toBe('12100');
  });

  it('an unknown verb → fallback with ErrorCode 12200 naming the element', async () => {
    const r = await fetchInstructions(opts('/invalid', '/fallback'));
    expect(r.source).toBe('fallback');
    expect(r.primaryError!.code).toBe(12200);
    expect(r.primaryError!.message).toMatch(/<Dance>/);
  });

  it('a document over the size limit → fallback with ErrorCode 12100', async () => {
    const r = await fetchInstructions(opts('/huge', '/fallback'));
    expect(r.source).toBe('fallback');
    expect(r.primaryError).toMatchObject({ code: 12100 });
    // sendWebhook cuts the body at the limit, so the document arrives unterminated.
    expect(r.primaryError!.message).toMatch(/XML:/);
  });

  it('both fail → a typed MeshError with both errors', async () => {
    const e = await fetchInstructions(opts('/error500', '/garbage')).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(MeshError);
    const m = e as MeshError;
    expect(m.code).toBe('BAD_GATEWAY');
    expect(m.detail).toMatchObject({
      dialectCode: 11200,
      primaryError: { code: 11200, url: `${base}/error500` },
      fallbackError: { code: 12100, url: `${base}/garbage` },
    });
  });

  it('parses a document built with the twilio library\'s VoiceResponse', async () => {
    const r = await fetchInstructions(opts('/twilio-lib', '/fallback'));
    expect(r.source).toBe('primary');
    expect(r.document.warnings).toEqual([]);
    expect(r.document.verbs).toEqual([
      { verb: 'Say', text: 'Welcome to the mesh', voice: 'alice', language: 'en-GB', loop: 2 },
      {
        verb: 'Gather', input: ['dtmf'], numDigits: 2, timeout: 4, finishOnKey: '*', action: `${base}/gathered`, method: 'GET',
        children: [{ verb: 'Play', url: 'https://media.example.com/menu.wav', digits: undefined, loop: 1 }, { verb: 'Pause', length: 2 }],
      },
      {
        verb: 'Record', maxLength: 30, finishOnKey: '1234567890*#', action: `${base}/recorded`, method: 'POST',
        recordingStatusCallback: `${base}/rec-status`, recordingStatusCallbackMethod: 'POST', playBeep: false, timeout: 5,
      },
      {
        verb: 'Dial', timeout: 15, callerId: '+15550009999', action: `${base}/dialed`, method: 'POST', record: 'record-from-answer', timeLimit: 14400,
        targets: [
          { kind: 'number', number: '+15554445555', sendDigits: '1w2', url: undefined, method: 'POST' },
          { kind: 'sip', uri: 'sip:alice@example.com', username: undefined, password: undefined, url: undefined, method: 'POST' },
        ],
      },
      { verb: 'Enqueue', queue: 'support', waitUrl: `${base}/wait`, waitUrlMethod: 'GET', action: undefined, method: 'POST' },
      { verb: 'Redirect', url: `${base}/next`, method: 'POST' },
      { verb: 'Reject', reason: 'busy' },
    ]);
  });

  it('a host whose breaker is open is not waited on', async () => {
    const breakers = new HostBreakers({ failureThreshold: 2, openMs: 60_000 });
    const slowHost = { url: `${base}/slow`, method: 'POST' as const };
    const fallback = { url: 'http://localhost:' + new URL(base).port + '/fallback', method: 'POST' as const };
    for (let i = 0; i < 2; i++) await fetchInstructions({ ...opts('/slow', undefined, { timeoutMs: 200 }), primary: slowHost, fallback, breakers });
    expect(seen.filter((s) => s.path === '/slow')).toHaveLength(2);
    const r = await fetchInstructions({ ...opts('/slow', undefined, { timeoutMs: 200 }), primary: slowHost, fallback, breakers });
    expect(seen.filter((s) => s.path === '/slow')).toHaveLength(2); // the third call never reached the host
    expect(r.source).toBe('fallback');
    expect(r.primaryError!.message).toMatch(/host unavailable/);
  });
});
