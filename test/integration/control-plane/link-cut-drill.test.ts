/**
 * The link cut drill end to end, minus the processes: the operator API
 * (real HTTP, real Redis) records the cut, and a relay set started from a
 * link plan (real relays on 127.0.25.0/24 and 127.0.26.0/24) follows it
 * through `followLinkCuts` the way the launcher does. A cut drops traffic
 * both ways until restored; bad region pairs are refused.
 */
import dgram from 'node:dgram';
import { connect } from 'node:net';
import { OpenAPIHono } from '@hono/zod-openapi';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createOperatorApp } from '../../../control-plane/operator/app.js';
import { planLinkRelays, type LinkRelayPlan } from '../../../infra/link-delays.js';
import { followLinkCuts, startLinkRelays, type RunningLinkRelays } from '../../../infra/link-relays.js';
import { parseRegionCatalog } from '../../../regions/catalog.js';
import { createLogger } from '../../../regions/core/log.js';
import { DelayRelay } from '../../../regions/link/delay-relay.js';
import { UdpDelayRelay } from '../../../regions/link/udp-delay-relay.js';
import { keys } from '../../../regions/store/keys.js';
import { listLinkCuts, type LinkPair } from '../../../regions/store/link-cuts.js';
import { waitUntil } from '../../support/wait.js';
import { TEST_REDIS_URL } from '../global-setup.js';
import { basic, serveApp, type Served } from './operator-harness.js';

const PREFIX = `it-link-cut-${process.pid}:`;
const OP = { username: 'ops', password: 'link-cut-operator' };
const A = 'eu-west';
const B = 'us-east';
const A_SIG = { address: '127.0.25.1', port: 5062 };
const B_SIG = { address: '127.0.26.1', port: 5062 };

function plan(): LinkRelayPlan {
  const region = (id: string, o: number): unknown => ({
    id,
    subnet: `127.0.${o}.0/24`,
    signaling: { address: `127.0.${o}.1`, port: 5062 },
    mediaNodes: [{ id: `it-lcut-${id}-1`, address: `127.0.${o}.11`, rtpPortMin: 42000, rtpPortMax: 42999 }],
    centralMedia: { address: `127.0.${o}.20`, port: 8093 },
  });
  return planLinkRelays(parseRegionCatalog({ regions: [region(A, 25), region(B, 26)], links: { [A]: { [B]: 0 }, [B]: { [A]: 0 } } }));
}

async function udpSocket(address: string, port: number): Promise<{ socket: dgram.Socket; got: string[] }> {
  const socket = dgram.createSocket('udp4');
  const got: string[] = [];
  socket.on('message', (m) => got.push(m.toString()));
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, address, () => resolve());
  });
  return { socket, got };
}

const send = (s: dgram.Socket, text: string, to: { address: string; port: number }): Promise<void> =>
  new Promise((resolve, reject) => s.send(text, to.port, to.address, (e) => (e ? reject(e) : resolve())));

let redis: Redis;
let served: Served;

async function call(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = { authorization: basic(OP.username, OP.password) };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${served.base}/v1${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const text = await res.text();
  return { status: res.status, body: text === '' ? undefined : JSON.parse(text) };
}

beforeAll(async () => {
  redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1, commandTimeout: 2000 });
  const root = new OpenAPIHono();
  root.route(
    '/v1',
    createOperatorApp({
      redis,
      keyPrefix: PREFIX,
      operator: OP,
      regions: [{ id: A }, { id: B }, { id: 'ap-south' }],
      nodes: () => [],
      drills: { kill: async () => ({ pid: 1, signal: 'SIGKILL' as const, process: 'none' }) },
      placementTrace: async () => undefined,
    }),
  );
  served = await serveApp(root);
});

afterAll(async () => {
  await served?.close();
  const left = await redis.keys(`${PREFIX}*`);
  if (left.length > 0) await redis.del(...left);
  redis.disconnect();
});

describe('link cut drill', () => {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
    await redis.del(keys(PREFIX).linkCuts());
  });

  const relayOf = (running: RunningLinkRelays, from: string): UdpDelayRelay => {
    const r = running.relays.find((x) => x.spec.kind === 'sip' && x.spec.protocol === 'udp' && x.spec.from === from)?.relay;
    if (!(r instanceof UdpDelayRelay)) throw new Error('no UDP SIP relay');
    return r;
  };

  it('POST cut drops both directions within a second, GET shows cut, restore lets traffic through again', async () => {
    const running = await startLinkRelays(plan());
    cleanups.push(() => running.close());
    const follower = followLinkCuts(running, { read: () => listLinkCuts(redis, PREFIX), intervalMs: 500 });
    cleanups.push(() => follower.close());
    const a = await udpSocket(A_SIG.address, A_SIG.port);
    const b = await udpSocket(B_SIG.address, B_SIG.port);
    cleanups.push(() => a.socket.close(), () => b.socket.close());
    const toB = { address: running.plan.entries[A]![B]!, port: B_SIG.port };
    const toA = { address: running.plan.entries[B]![A]!, port: A_SIG.port };

    // Open: both ways deliver.
    await send(a.socket, 'before A→B', toB);
    await send(b.socket, 'before B→A', toA);
    await waitUntil(() => a.got.length === 1 && b.got.length === 1, 2000, 'delivered before the cut');
    expect((await call('GET', `/regions/${A}/links/${B}`)).body).toEqual({ a: A, b: B, state: 'open' });

    // Cut (named in either order: a link is a pair).
    const cut = await call('POST', `/regions/${B}/links/${A}`, { action: 'cut' });
    expect(cut).toEqual({ status: 200, body: { a: B, b: A, state: 'cut' } });
    expect((await call('GET', `/regions/${A}/links/${B}`)).body.state).toBe('cut');
    // The region list says so too, on both ends.
    const listed = (await call('GET', '/regions')).body.regions as { id: string; links: { to: string; state: string }[] }[];
    expect(listed.find((r) => r.id === A)?.links.find((l) => l.to === B)?.state).toBe('cut');
    expect(listed.find((r) => r.id === B)?.links.find((l) => l.to === A)?.state).toBe('cut');
    const tookMs = await waitUntil(() => follower.applied.has(`${A}|${B}`), 1500, 'cut applied');
    expect(tookMs).toBeLessThanOrEqual(1000);

    await send(a.socket, 'during A→B', toB);
    await send(b.socket, 'during B→A', toA);
    await waitUntil(() => relayOf(running, A).stats().dropped.blocked === 1 && relayOf(running, B).stats().dropped.blocked === 1, 2000, 'both directions dropped');
    // TCP relays (SIP over TCP, region links) refuse connections while cut.
    const tcp = running.relays.find((x) => x.spec.kind === 'sip' && x.spec.protocol === 'tcp' && x.spec.from === B)!.relay as DelayRelay;
    const sock = connect({ host: toA.address, port: A_SIG.port, localAddress: B_SIG.address });
    const closed = new Promise<void>((resolve) => sock.once('close', () => resolve()));
    sock.on('error', () => undefined);
    await closed;
    expect(tcp.accepted).toBe(0);
    await new Promise((r) => setTimeout(r, 100));
    expect(a.got).toEqual(['before B→A']);
    expect(b.got).toEqual(['before A→B']);

    // Restore: traffic flows again, both ways.
    expect(await call('POST', `/regions/${A}/links/${B}`, { action: 'restore' })).toEqual({ status: 200, body: { a: A, b: B, state: 'open' } });
    expect((await call('GET', `/regions/${B}/links/${A}`)).body.state).toBe('open');
    const relisted = (await call('GET', '/regions')).body.regions as { id: string; links: { to: string; state: string }[] }[];
    expect(relisted.find((r) => r.id === A)?.links.find((l) => l.to === B)?.state).not.toBe('cut');
    await waitUntil(() => !follower.applied.has(`${A}|${B}`), 1500, 'restore applied');
    await send(a.socket, 'after A→B', toB);
    await send(b.socket, 'after B→A', toA);
    await waitUntil(() => a.got.length === 2 && b.got.length === 2, 2000, 'delivered after the restore');
    expect(a.got[1]).toBe('after B→A');
    expect(b.got[1]).toBe('after A→B');
  });

  it('refuses unknown regions (404 with the list), the same region twice (400) and other actions (400)', async () => {
    const unknown = await call('POST', `/regions/${A}/links/mars`, { action: 'cut' });
    expect(unknown.status).toBe(404);
    expect(unknown.body.message).toContain('mars');
    expect(unknown.body.message).toContain('ap-south');
    expect((await call('GET', `/regions/venus/links/${A}`)).status).toBe(404);
    const same = await call('POST', `/regions/${A}/links/${A}`, { action: 'cut' });
    expect(same.status).toBe(400);
    expect(same.body.field).toBe('b');
    expect((await call('GET', `/regions/${A}/links/${A}`)).status).toBe(400);
    expect((await call('POST', `/regions/${A}/links/${B}`, { action: 'sever' })).status).toBe(400);
    expect((await call('DELETE', `/regions/${A}/links/${B}`)).status).toBe(405);
    // Nothing was recorded by the refused requests.
    expect(await listLinkCuts(redis, PREFIX)).toEqual([]);
  });

  it('keeps the last applied cut while the store is unreadable, logging the outage once', async () => {
    const running = await startLinkRelays(plan());
    cleanups.push(() => running.close());
    const lines: string[] = [];
    const log = createLogger('info', {}, (l) => lines.push(l));
    let failing = false;
    let reads = 0;
    const read = async (): Promise<LinkPair[]> => {
      reads++;
      if (failing) throw new Error('redis down');
      return listLinkCuts(redis, PREFIX);
    };
    const follower = followLinkCuts(running, { read, intervalMs: 50, log });
    cleanups.push(() => follower.close());
    expect((await call('POST', `/regions/${A}/links/${B}`, { action: 'cut' })).status).toBe(200);
    await waitUntil(() => follower.applied.has(`${A}|${B}`), 1000, 'cut applied');
    failing = true;
    await redis.del(keys(PREFIX).linkCuts());
    const from = reads;
    await waitUntil(() => reads >= from + 5, 2000, 'several failed reads');
    expect(relayOf(running, A).isBlocked).toBe(true);
    expect(relayOf(running, B).isBlocked).toBe(true);
    expect(lines.filter((l) => l.includes('link cuts unreadable'))).toHaveLength(1);
    failing = false;
    await waitUntil(() => !relayOf(running, A).isBlocked && !relayOf(running, B).isBlocked, 1000, 'restored once readable');
  });
});
