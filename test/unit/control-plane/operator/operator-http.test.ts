import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { fieldName, handleError, jsonBody, operatorAuth } from '../../../../control-plane/operator/http.js';
import { nodeInfoFromMedia, nodeInfoFromMetrics } from '../../../../control-plane/operator/types.js';

const basic = (u: string, p: string): string => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;

function app(): Hono {
  const a = new Hono();
  a.onError((e, c) => handleError(e, c));
  a.use('*', operatorAuth({ username: 'op', password: 'pw:with:colons' }));
  a.get('/x', (c) => c.text('ok'));
  for (const mw of jsonBody(32)) a.use('/body', mw);
  a.post('/body', async (c) => c.json(await c.req.json()));
  return a;
}

describe('fieldName', () => {
  it('renders zod paths as JSON clients name fields', () => {
    expect(fieldName(['allowedSources', 0])).toBe('allowedSources[0]');
    expect(fieldName(['a', 'b', 2, 'c'])).toBe('a.b[2].c');
    expect(fieldName([])).toBe('');
  });
});

describe('operatorAuth', () => {
  it('accepts the operator and passwords containing colons (RFC 7617 §2 splits at the first)', async () => {
    expect((await app().request('/x', { headers: { authorization: basic('op', 'pw:with:colons') } })).status).toBe(200);
  });

  it('refuses wrong credentials with 401 and a Basic challenge', async () => {
    const res = await app().request('/x', { headers: { authorization: basic('op', 'pw') } });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toContain('Basic');
    expect(await res.json()).toEqual({ code: 'UNAUTHORIZED', message: 'operator credentials required', status: 401 });
  });
});

describe('jsonBody', () => {
  const auth = { authorization: basic('op', 'pw:with:colons') };
  it('passes small JSON through, refuses other types, bad JSON and big bodies', async () => {
    const a = app();
    const ok = await a.request('/body', { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: '{"a":1}' });
    expect(await ok.json()).toEqual({ a: 1 });
    const t = await a.request('/body', { method: 'POST', headers: { ...auth, 'content-type': 'text/plain' }, body: '{}' });
    expect(t.status).toBe(415);
    const bad = await a.request('/body', { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: '{' });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ field: 'body' });
    const big = await a.request('/body', {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json', 'content-length': '33' },
      body: `{"a":"${'x'.repeat(25)}"}`,
    });
    expect(big.status).toBe(413);
    expect(big.headers.get('connection')).toBe('close');
  });
});

describe('node info adapters', () => {
  it('maps a media registry snapshot', () => {
    const info = nodeInfoFromMedia('us-east', {
      id: 'media-1',
      address: '127.0.1.11',
      ngPort: 2223,
      capabilities: ['relay'],
      healthy: true,
      load: 4,
      breaker: 'closed' as never,
      lastPingRttMs: 1.5,
      lastPingAt: 0,
      lastError: undefined,
    });
    expect(info).toEqual({
      id: 'media-1',
      region: 'us-east',
      kind: 'media',
      healthy: true,
      load: 4,
      state: 'serving',
      drained: false,
      drainedSince: null,
      lastPingAt: '1970-01-01T00:00:00.000Z',
      lastPingRttMs: 1.5,
      address: '127.0.1.11:2223',
      capabilities: ['relay'],
      lastError: null,
    });
  });

  it('marks a signaling node unhealthy once its metrics are stale', () => {
    const s = {
      nodeId: 'sig',
      region: 'eu-west',
      at: 1000,
      activeCalls: 3,
      callAttempts: 0,
      callFailures: {},
      ngLatency: {},
      webhook: { requests: 0, failures: 0, latencySumMs: 0 },
      placements: {},
    };
    expect(nodeInfoFromMetrics(s, 16_000).healthy).toBe(true);
    expect(nodeInfoFromMetrics(s, 16_001)).toMatchObject({ healthy: false, state: 'dead', load: null, lastLoad: 3 });
    expect(nodeInfoFromMetrics(s, 2000)).toMatchObject({ kind: 'signaling', load: 3, region: 'eu-west' });
  });
});
