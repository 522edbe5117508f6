/**
 * The operator API against real Redis and real HTTP, mounted at /v1 the way
 * the lead mounts it: auth, every route, and the negative cases.
 */
import { connect } from 'node:net';
import { OpenAPIHono } from '@hono/zod-openapi';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createOperatorApp } from '../../../control-plane/operator/app.js';
import { loadCarriers } from '../../../regions/store/carriers.js';
import type { DrillExecutor, NodeInfo } from '../../../control-plane/operator/types.js';
import { MeshError } from '../../../regions/core/errors.js';
import { keys } from '../../../regions/store/keys.js';
import { drainNode, listDrainedNodes } from '../../../regions/store/drained-nodes.js';
import { CarrierAdmission } from '../../../signaling/b2bua/carrier-admission.js';
import { TEST_REDIS_URL } from '../global-setup.js';
import { basic, serveApp, type Served } from './operator-harness.js';

const PREFIX = `it-operator-api-${process.pid}:`;
const OP = { username: 'ops', password: 's3cret-operator' };
const AUTH = basic(OP.username, OP.password);

const nodes: NodeInfo[] = [
  { id: 'media-1', region: 'us-east', kind: 'media', healthy: true, load: 2, state: 'serving', drained: false, drainedSince: null, lastPingAt: '2026-01-01T00:00:00.000Z' },
  { id: 'us-east-sig-1', region: 'us-east', kind: 'signaling', healthy: true, load: 1, state: 'serving', drained: false, drainedSince: null, lastPingAt: null },
  { id: 'eu-media-1', region: 'eu-west', kind: 'media', healthy: false, load: null, state: 'dead', drained: false, drainedSince: null, lastLoad: 0, lastPingAt: null },
];

const drillCalls: string[] = [];
let drillBehaviour: 'ok' | 'not-found' | 'hang' | 'crash' = 'ok';
const drills: DrillExecutor = {
  kill: async (id: string) => {
    drillCalls.push(`kill:${id}`);
    if (drillBehaviour === 'not-found') throw new MeshError('NOT_FOUND', `node ${id} vanished`);
    if (drillBehaviour === 'hang') await new Promise((r) => setTimeout(r, 2000));
    if (drillBehaviour === 'crash') throw new Error('secret internal detail');
    return { pid: 4242, signal: 'SIGKILL' as const, process: `${id}#1` };
  },
};

let redis: Redis;
let served: Served;
let root: OpenAPIHono;
let nodesFail = false;
const internalErrors: unknown[] = [];

async function call(
  method: string,
  path: string,
  opts: { body?: unknown; raw?: string | ReadableStream<Uint8Array>; type?: string | null; auth?: string | null; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: any; headers: Headers }> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.auth !== null) headers.authorization = opts.auth ?? AUTH;
  let body: string | ReadableStream<Uint8Array> | undefined;
  if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers['content-type'] = 'application/json';
  }
  if (opts.raw !== undefined) body = opts.raw;
  if (opts.type === null) delete headers['content-type'];
  else if (opts.type !== undefined) headers['content-type'] = opts.type;
  const init: RequestInit & { duplex?: 'half' } = { method, headers, ...(body === undefined ? {} : { body }) };
  if (body instanceof ReadableStream) init.duplex = 'half';
  const res = await fetch(`${served.base}/v1${path}`, init);
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

/** POST a chunked JSON-ish body of `count` chunks of `size` bytes; returns the status line and raw response text. */
function sendChunked(path: string, size: number, count: number): Promise<{ status: number; text: string }> {
  const url = new URL(served.base);
  return new Promise((resolve, reject) => {
    const sock = connect({ host: url.hostname, port: Number(url.port) });
    let received = '';
    let sent = 0;
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no response: ${received}`));
    }, 10_000);
    const finish = (): void => {
      clearTimeout(timer);
      const m = /^HTTP\/1\.1 (\d{3})/.exec(received);
      if (m === null) reject(new Error(`no status line: ${received.slice(0, 200)}`));
      else resolve({ status: Number(m[1]), text: received });
    };
    const pump = (): void => {
      while (sent < count && received === '') {
        sent += 1;
        if (!sock.write(`${size.toString(16)}\r\n${'x'.repeat(size)}\r\n`)) {
          sock.once('drain', pump);
          return;
        }
      }
      if (sent >= count && received === '') sock.write('0\r\n\r\n');
    };
    sock.on('connect', () => {
      sock.write(
        `POST ${path} HTTP/1.1\r\nHost: ${url.host}\r\nAuthorization: ${AUTH}\r\n` +
          'Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n',
      );
      pump();
    });
    sock.on('data', (d) => {
      received += d.toString('utf8');
      if (received.includes('\r\n\r\n') && received.includes('}')) {
        sock.destroy();
        finish();
      }
    });
    sock.on('error', () => {
      if (received !== '') finish();
    });
    sock.on('close', () => {
      if (received !== '') finish();
    });
  });
}

const carrierBody = (over: Record<string, unknown> = {}) => ({
  name: 'Acme Telecom',
  allowedSources: ['127.0.0.1', '203.0.113.0/24'],
  outboundProxy: 'sip:127.0.0.1:5090',
  prefixes: ['+1555'],
  ...over,
});

beforeAll(async () => {
  redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1, commandTimeout: 2000 });
  const app = createOperatorApp({
    redis,
    keyPrefix: PREFIX,
    operator: OP,
    regions: [{ id: 'us-east', sipAddress: '127.0.1.1', sipPort: 5060 }, { id: 'eu-west' }],
    nodes: async () => {
      if (nodesFail) throw new Error('registry exploded');
      return nodes;
    },
    drills,
    placementTrace: async (sid) => (sid === 'CAknown' ? [{ leg: 'a', region: 'us-east', reason: 'local' }] : undefined),
    drillTimeoutMs: 300,
    onInternalError: (e) => internalErrors.push(e),
  });
  root = new OpenAPIHono();
  root.route('/v1', app);
  served = await serveApp(root);
});

afterAll(async () => {
  await served?.close();
  const left = await redis.keys(`${PREFIX}*`);
  if (left.length > 0) await redis.del(...left);
  redis.disconnect();
});

beforeEach(async () => {
  const left = await redis.keys(`${PREFIX}*`);
  if (left.length > 0) await redis.del(...left);
  drillCalls.length = 0;
  drillBehaviour = 'ok';
  nodesFail = false;
  internalErrors.length = 0;
});

describe('auth', () => {
  it.each([
    ['no credentials', null],
    ['wrong password', basic(OP.username, 'nope')],
    ['wrong user', basic('admin', OP.password)],
    ['password as user', basic(OP.password, OP.username)],
    ['not basic', 'Bearer abc'],
    ['garbage base64', 'Basic %%%'],
    ['no colon', `Basic ${Buffer.from('opss3cret-operator').toString('base64')}`],
  ])('refuses %s with 401 and a challenge', async (_, auth) => {
    const r = await call('GET', '/regions', { auth });
    expect(r.status).toBe(401);
    expect(r.body).toEqual({ code: 'UNAUTHORIZED', message: 'operator credentials required', status: 401 });
    expect(r.headers.get('www-authenticate')).toMatch(/^Basic realm="mesh-operator"/);
  });

  it('checks credentials before anything else (body, method)', async () => {
    expect((await call('POST', '/drills', { raw: 'x', type: 'text/plain', auth: null })).status).toBe(401);
    expect((await call('PUT', '/regions', { auth: null })).status).toBe(401);
  });
});

describe('regions and nodes', () => {
  it('lists regions', async () => {
    const r = await call('GET', '/regions');
    expect(r.status).toBe(200);
    expect(r.body.regions.map((x: { id: string }) => x.id)).toEqual(['us-east', 'eu-west']);
    expect(r.body.regions[0].sipPort).toBe(5060);
  });

  it('lists the nodes of one region with health, load and last ping', async () => {
    const r = await call('GET', '/regions/us-east/nodes');
    expect(r.status).toBe(200);
    expect(r.body.region).toBe('us-east');
    expect(r.body.nodes).toEqual([nodes[0], nodes[1]]);
    const eu = await call('GET', '/regions/eu-west/nodes');
    expect(eu.body.nodes).toEqual([nodes[2]]);
  });

  it('404s an unknown region', async () => {
    const r = await call('GET', '/regions/mars/nodes');
    expect(r.status).toBe(404);
    expect(r.body).toMatchObject({ code: 'NOT_FOUND', status: 404 });
    expect(r.body.message).toMatch(/mars/);
  });

  it('answers 500 without leaking the cause when the node source fails', async () => {
    nodesFail = true;
    const r = await call('GET', '/regions/us-east/nodes');
    expect(r.status).toBe(500);
    expect(r.body).toEqual({ code: 'INTERNAL', message: 'internal error', status: 500 });
    expect(internalErrors).toHaveLength(1);
  });
});

describe('carriers', () => {
  it('creates, lists, fetches, updates and deletes a carrier, stored as CarrierRecord', async () => {
    const created = await call('POST', '/regions/us-east/carriers', { body: carrierBody() });
    expect(created.status).toBe(201);
    const sid: string = created.body.sid;
    expect(sid).toMatch(/^CR[0-9a-f]{32}$/);
    expect(created.headers.get('location')).toBe(`/v1/regions/us-east/carriers/${sid}`);
    expect(created.body).toMatchObject({ region: 'us-east', name: 'Acme Telecom', prefixes: ['+1555'] });

    // Stored in the shared layout, readable by the signaling side.
    expect(await redis.sismember(keys(PREFIX).regionCarriers('us-east'), sid)).toBe(1);
    const stored = JSON.parse((await redis.get(keys(PREFIX).carrier(sid)))!);
    expect(stored).toEqual(created.body);
    const loaded = await loadCarriers(redis, PREFIX, 'us-east');
    expect(loaded).toEqual([created.body]);
    const admission = new CarrierAdmission(loaded);
    expect(admission.admit('203.0.113.77', '+15551230000')).toMatchObject({ ok: true, carrier: { sid } });
    expect(admission.admit('198.51.100.1', '+15551230000').ok).toBe(false);

    const list = await call('GET', '/regions/us-east/carriers');
    expect(list.status).toBe(200);
    expect(list.body).toEqual({ region: 'us-east', carriers: [created.body] });
    expect((await call('GET', '/regions/eu-west/carriers')).body.carriers).toEqual([]);

    const got = await call('GET', `/regions/us-east/carriers/${sid}`);
    expect(got.status).toBe(200);
    expect(got.body).toEqual(created.body);

    const updated = await call('POST', `/regions/us-east/carriers/${sid}`, {
      body: { allowedSources: ['10.0.0.0/8'], outboundProxy: null, prefixes: [] },
    });
    expect(updated.status).toBe(200);
    expect(updated.body).toEqual({ ...created.body, allowedSources: ['10.0.0.0/8'], prefixes: [], outboundProxy: undefined });
    expect(updated.body).not.toHaveProperty('outboundProxy');
    expect((await call('GET', `/regions/us-east/carriers/${sid}`)).body).toEqual(updated.body);

    const renamed = await call('POST', `/regions/us-east/carriers/${sid}`, { body: { name: 'Acme 2' } });
    expect(renamed.body.name).toBe('Acme 2');
    expect(renamed.body.allowedSources).toEqual(['10.0.0.0/8']);

    const del = await call('DELETE', `/regions/us-east/carriers/${sid}`);
    expect(del.status).toBe(204);
    expect(del.body).toBeUndefined();
    expect((await call('GET', `/regions/us-east/carriers/${sid}`)).status).toBe(404);
    expect((await call('DELETE', `/regions/us-east/carriers/${sid}`)).status).toBe(404);
    expect(await redis.exists(keys(PREFIX).carrier(sid))).toBe(0);
    expect(await loadCarriers(redis, PREFIX, 'us-east')).toEqual([]);
  });

  it('defaults prefixes to [] and leaves outboundProxy out when not given', async () => {
    const r = await call('POST', '/regions/eu-west/carriers', { body: { name: 'EU', allowedSources: ['127.0.2.0/24'] } });
    expect(r.status).toBe(201);
    expect(r.body.prefixes).toEqual([]);
    expect(r.body).not.toHaveProperty('outboundProxy');
  });

  it('keeps carriers of one region invisible from another (404)', async () => {
    const sid = (await call('POST', '/regions/us-east/carriers', { body: carrierBody() })).body.sid;
    expect((await call('GET', `/regions/eu-west/carriers/${sid}`)).status).toBe(404);
    expect((await call('POST', `/regions/eu-west/carriers/${sid}`, { body: { name: 'x' } })).status).toBe(404);
    expect((await call('DELETE', `/regions/eu-west/carriers/${sid}`)).status).toBe(404);
    expect((await call('GET', `/regions/us-east/carriers/${sid}`)).status).toBe(200);
  });

  it('409s a duplicate name in the same region (case-insensitive), not across regions', async () => {
    const first = await call('POST', '/regions/us-east/carriers', { body: carrierBody() });
    const dup = await call('POST', '/regions/us-east/carriers', { body: carrierBody({ name: 'ACME telecom' }) });
    expect(dup.status).toBe(409);
    expect(dup.body).toMatchObject({ code: 'CONFLICT', status: 409, field: 'name' });
    expect((await call('POST', '/regions/eu-west/carriers', { body: carrierBody() })).status).toBe(201);
    const other = await call('POST', '/regions/us-east/carriers', { body: carrierBody({ name: 'Other' }) });
    const rename = await call('POST', `/regions/us-east/carriers/${other.body.sid}`, { body: { name: 'Acme Telecom' } });
    expect(rename.status).toBe(409);
    // Renaming a carrier to its own name is not a conflict.
    expect((await call('POST', `/regions/us-east/carriers/${first.body.sid}`, { body: { name: 'Acme Telecom' } })).status).toBe(200);
  });

  it('creates concurrently without losing or duplicating names', async () => {
    const results = await Promise.all(
      Array.from({ length: 10 }, () => call('POST', '/regions/us-east/carriers', { body: carrierBody({ name: 'Race' }) })),
    );
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    expect(results.filter((r) => r.status === 409)).toHaveLength(9);
    expect(await loadCarriers(redis, PREFIX, 'us-east')).toHaveLength(1);
  });

  it('404s carriers of an unknown region', async () => {
    expect((await call('GET', '/regions/mars/carriers')).status).toBe(404);
    expect((await call('POST', '/regions/mars/carriers', { body: carrierBody() })).status).toBe(404);
  });

  it.each([
    ['allowedSources[1]', { allowedSources: ['127.0.0.1', '10.0.0.1/8'] }, /host bits/],
    ['allowedSources[0]', { allowedSources: ['999.1.1.1'] }, /IPv4/],
    ['allowedSources[0]', { allowedSources: ['10.0.0.0/33'] }, /0\.\.32/],
    ['allowedSources', { allowedSources: [] }, /at least 1/],
    ['allowedSources', { allowedSources: '127.0.0.1' }, /array/],
    ['outboundProxy', { outboundProxy: 'http://example.com' }, /sip:/],
    ['outboundProxy', { outboundProxy: 'sip:' }, /sip:/],
    ['prefixes[0]', { prefixes: ['+1-555'] }, /digits/],
    ['prefixes[1]', { prefixes: ['+1', '12345678901234567'] }, /digits/],
    ['name', { name: '   ' }, /at least 1/],
    ['name', { name: undefined }, /Required/],
    ['color', { color: 'red' }, /unknown field/],
  ])('400 names %s', async (field, over, message) => {
    const r = await call('POST', '/regions/us-east/carriers', { body: carrierBody(over) });
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ code: 'BAD_REQUEST', status: 400, field });
    expect(r.body.message.startsWith(`${field}: `)).toBe(true);
    expect(r.body.message).toMatch(message);
    expect(await loadCarriers(redis, PREFIX, 'us-east')).toEqual([]);
  });

  it('accepts sips: URIs, IPv6 hosts and params in outboundProxy', async () => {
    for (const [i, proxy] of ['sips:carrier.example.com:5061;transport=tcp', 'sip:gw@[2001:db8::1]:5060', 'sip:10.0.0.1'].entries()) {
      const r = await call('POST', '/regions/us-east/carriers', { body: carrierBody({ name: `p${i}`, outboundProxy: proxy }) });
      expect(r.status, proxy).toBe(201);
    }
  });

  it('400s an update with a bad field and leaves the record unchanged', async () => {
    const c = (await call('POST', '/regions/us-east/carriers', { body: carrierBody() })).body;
    const r = await call('POST', `/regions/us-east/carriers/${c.sid}`, { body: { allowedSources: ['nope'] } });
    expect(r.status).toBe(400);
    expect(r.body.field).toBe('allowedSources[0]');
    expect((await call('GET', `/regions/us-east/carriers/${c.sid}`)).body).toEqual(c);
  });

  it('400s a malformed carrier SID in the path', async () => {
    const r = await call('GET', '/regions/us-east/carriers/CR123');
    expect(r.status).toBe(400);
    expect(r.body.field).toBe('sid');
  });
});

describe('bodies', () => {
  it('415s a body that is not application/json', async () => {
    const r = await call('POST', '/regions/us-east/carriers', { raw: 'name=x', type: 'application/x-www-form-urlencoded' });
    expect(r.status).toBe(415);
    expect(r.body).toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE', status: 415 });
    expect((await call('POST', '/drills', { raw: '{}', type: null })).status).toBe(415);
  });

  it('accepts application/json with a charset parameter', async () => {
    const r = await call('POST', '/regions/us-east/carriers', {
      raw: JSON.stringify(carrierBody()),
      type: 'application/json; charset=utf-8',
    });
    expect(r.status).toBe(201);
  });

  it('400s malformed JSON naming the body', async () => {
    const r = await call('POST', '/regions/us-east/carriers', { raw: '{"name":', type: 'application/json' });
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ code: 'BAD_REQUEST', field: 'body' });
    const empty = await call('POST', '/drills', { raw: '', type: 'application/json' });
    expect(empty.status).toBe(400);
    const notObject = await call('POST', '/drills', { raw: '[1,2]', type: 'application/json' });
    expect(notObject.status).toBe(400);
  });

  it('413s a body over 1 MiB by Content-Length', async () => {
    const big = JSON.stringify(carrierBody({ name: 'x'.repeat(1024 * 1024) }));
    const r = await call('POST', '/regions/us-east/carriers', { raw: big, type: 'application/json' });
    expect(r.status).toBe(413);
    expect(r.body).toMatchObject({ code: 'TOO_LARGE', status: 413 });
  });

  it('413s a chunked body over 1 MiB', async () => {
    // Raw socket: the server answers 413 and closes while the client is still
    // sending, which fetch reports as a socket error instead of the response.
    const { status, text } = await sendChunked('/v1/regions/us-east/carriers', 64 * 1024, 40);
    expect(status).toBe(413);
    expect(text).toContain('"code":"TOO_LARGE"');
  });

  it('accepts a small chunked body', async () => {
    const bytes = new TextEncoder().encode(JSON.stringify(carrierBody()));
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(bytes.slice(0, 10));
        controller.enqueue(bytes.slice(10));
        controller.close();
      },
    });
    expect((await call('POST', '/regions/us-east/carriers', { raw: stream, type: 'application/json' })).status).toBe(201);
  });
});

describe('methods', () => {
  it.each([
    ['PUT', '/regions', 'GET, HEAD'],
    ['POST', '/regions/us-east/nodes', 'GET, HEAD'],
    ['PATCH', '/regions/us-east/carriers', 'GET, HEAD, POST'],
    ['PUT', '/regions/us-east/carriers/CR0123456789abcdef0123456789abcdef', 'GET, HEAD, POST, DELETE'],
    ['DELETE', '/calls/CAknown/placements', 'GET, HEAD'],
    ['GET', '/drills', 'POST'],
  ])('405s %s %s with Allow', async (method, path, allow) => {
    const r = await call(method, path, { type: 'text/plain', raw: method === 'GET' ? undefined : 'x' } as never);
    expect(r.status).toBe(405);
    expect(r.body).toMatchObject({ code: 'METHOD_NOT_ALLOWED', status: 405 });
    expect(r.headers.get('allow')).toBe(allow);
  });
});

describe('placements', () => {
  it('returns the trace of a known call', async () => {
    const r = await call('GET', '/calls/CAknown/placements');
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ callSid: 'CAknown', placements: [{ leg: 'a', region: 'us-east', reason: 'local' }] });
  });

  it('404s an unknown call and 400s a malformed SID', async () => {
    const r = await call('GET', '/calls/CAunknown/placements');
    expect(r.status).toBe(404);
    expect(r.body.message).toMatch(/CAunknown/);
    const bad = await call('GET', `/calls/${'x'.repeat(65)}/placements`);
    expect(bad.status).toBe(400);
    expect(bad.body.field).toBe('callSid');
  });
});

describe('drills', () => {
  it('drains a node as operator state, undrains it, and kills through the executor; each answer says what it did', async () => {
    const d = await call('POST', '/drills', { body: { action: 'drain', nodeId: 'media-1' } });
    expect(d.status).toBe(200);
    expect(d.body).toMatchObject({ action: 'drain', nodeId: 'media-1', region: 'us-east', kind: 'media', drained: true, loadAtDrill: 2 });
    expect(d.body.did).toMatch(/drained media-1 until undrain.*no new call is placed on it.*2 live sessions go on/);
    expect(Number.isNaN(Date.parse(d.body.completedAt))).toBe(false);
    expect(await listDrainedNodes(redis, PREFIX)).toEqual([{ nodeId: 'media-1', since: d.body.drainedSince }]);
    // Idempotent: a second drain keeps the first time.
    const again = await call('POST', '/drills', { body: { action: 'drain', nodeId: 'media-1' } });
    expect(again.body.drainedSince).toBe(d.body.drainedSince);

    const u = await call('POST', '/drills', { body: { action: 'undrain', nodeId: 'media-1' } });
    expect(u.status).toBe(200);
    expect(u.body).toMatchObject({ action: 'undrain', nodeId: 'media-1', drained: false, wasDrained: true });
    expect(await listDrainedNodes(redis, PREFIX)).toEqual([]);
    const u2 = await call('POST', '/drills', { body: { action: 'undrain', nodeId: 'media-1' } });
    expect(u2.body).toMatchObject({ wasDrained: false, did: 'media-1 was not drained; nothing changed' });

    const k = await call('POST', '/drills', { body: { action: 'kill', nodeId: 'us-east-sig-1' } });
    expect(k.status).toBe(200);
    expect(k.body).toMatchObject({ action: 'kill', kind: 'signaling', process: 'us-east-sig-1#1', pid: 4242, signal: 'SIGKILL' });
    expect(k.body.did).toMatch(/SIGKILL to us-east-sig-1#1 \(pid 4242\); the node's standby takes over/);
    expect(drillCalls).toEqual(['kill:us-east-sig-1']);
  });

  it('undrains a node discovery no longer knows (a drain outlives the node); 404 when it is not drained either', async () => {
    await drainNode(redis, PREFIX, 'gone-media-9');
    const u = await call('POST', '/drills', { body: { action: 'undrain', nodeId: 'gone-media-9' } });
    expect(u.status).toBe(200);
    expect(u.body).toMatchObject({ wasDrained: true, drained: false });
    expect(u.body.region).toBeUndefined();
    const again = await call('POST', '/drills', { body: { action: 'undrain', nodeId: 'gone-media-9' } });
    expect(again.status).toBe(404);
    expect(again.body.message).toBe('node gone-media-9 not found and not drained');
    expect((await call('POST', '/drills', { body: { action: 'drain', nodeId: 'gone-media-9' } })).status).toBe(404);
  });

  it('404s an unknown node without calling the executor', async () => {
    const r = await call('POST', '/drills', { body: { action: 'kill', nodeId: 'ghost' } });
    expect(r.status).toBe(404);
    expect(r.body.field).toBe('nodeId');
    expect(drillCalls).toEqual([]);
  });

  it('passes through a MeshError from the executor and hides other errors', async () => {
    drillBehaviour = 'not-found';
    expect((await call('POST', '/drills', { body: { action: 'kill', nodeId: 'media-1' } })).status).toBe(404);
    drillBehaviour = 'crash';
    const r = await call('POST', '/drills', { body: { action: 'kill', nodeId: 'media-1' } });
    expect(r.status).toBe(500);
    expect(JSON.stringify(r.body)).not.toMatch(/secret/);
  });

  it('504s a drill that does not finish in time', async () => {
    drillBehaviour = 'hang';
    const started = Date.now();
    const r = await call('POST', '/drills', { body: { action: 'kill', nodeId: 'media-1' } });
    expect(r.status).toBe(504);
    expect(r.body.code).toBe('REQUEST_TIMEOUT');
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it.each([
    ['action', { action: 'explode', nodeId: 'media-1' }],
    ['nodeId', { action: 'drain' }],
    ['nodeId', { action: 'drain', nodeId: '' }],
    ['extra', { action: 'drain', nodeId: 'media-1', extra: 1 }],
  ])('400 names %s', async (field, body) => {
    const r = await call('POST', '/drills', { body });
    expect(r.status).toBe(400);
    expect(r.body.field).toBe(field);
    expect(drillCalls).toEqual([]);
  });
});

describe('OpenAPI', () => {
  it('merges into the mounting app document under /v1 with the operator security scheme', () => {
    const doc = root.getOpenAPIDocument({ openapi: '3.0.0', info: { title: 't', version: '1' } });
    expect(Object.keys(doc.paths ?? {})).toEqual(
      expect.arrayContaining([
        '/v1/regions',
        '/v1/regions/{region}/nodes',
        '/v1/regions/{region}/carriers',
        '/v1/regions/{region}/carriers/{sid}',
        '/v1/calls/{callSid}/placements',
        '/v1/drills',
      ]),
    );
    expect(doc.components?.securitySchemes?.operatorBasic).toMatchObject({ type: 'http', scheme: 'basic' });
    const post = doc.paths?.['/v1/regions/{region}/carriers']?.post;
    expect(post?.requestBody).toBeDefined();
    expect(Object.keys(post?.responses ?? {})).toEqual(expect.arrayContaining(['201', '400', '401', '409', '413', '415']));
  });
});
