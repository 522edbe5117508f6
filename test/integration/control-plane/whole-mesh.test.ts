/**
 * The control plane knows the whole mesh (issue 11, item 1): started the way
 * the launcher starts it (infra/control-plane.ts, the embedded region
 * catalog, real Redis, real Redis discovery), it homes tenants and numbers in
 * any catalog region, rejects others with the region list, and shows the
 * operator every region with the nodes registered in discovery — fake
 * instances registered through the real adapter, as a node would.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrapAccount } from '../../../control-plane/store/accounts.js';
import { parseConfig } from '../../../infra/config.js';
import { startControlPlane, type ControlPlane } from '../../../infra/control-plane.js';
import { discoveryKeyPrefix } from '../../../infra/discovery.js';
import { silentLogger } from '../../../regions/core/log.js';
import { RedisDiscovery } from '../../../regions/discovery/redis-discovery.js';
import type { Registration, ServiceInstance } from '../../../regions/discovery/types.js';
import { keys } from '../../../regions/store/keys.js';
import type { AccountRecord } from '../../../regions/store/schema.js';
import { TEST_REDIS_URL } from '../global-setup.js';
import { clearKeys } from '../../support/redis-keys.js';
import { basic } from './api-harness.js';

const PREFIX = `it-whole-mesh-${process.pid}:`;
const REGIONS = 'ap-south, eu-west, us-east';

const instance = (id: string, service: string, region: string, address: string, port: number, capabilities: string[], meta: Record<string, string> = {}): ServiceInstance => ({
  id,
  service,
  region,
  address,
  port,
  capabilities,
  meta,
});

// What the running mesh would register: signaling in every region, media nodes with their load,
// central media in eu-west only (so its links read `up` and the others' `partial`).
const INSTANCES: ServiceInstance[] = [
  instance('us-east-sig-1', 'signaling', 'us-east', '127.0.1.1', 5060, ['anchor', 'sip-udp']),
  instance('us-east-media-1', 'media', 'us-east', '127.0.1.11', 2223, ['relay', 'play', 'record', 'conference'], { sessions: '3' }),
  instance('eu-west-sig-1', 'signaling', 'eu-west', '127.0.2.1', 5060, ['anchor', 'sip-udp']),
  instance('eu-west-media-1', 'media', 'eu-west', '127.0.2.11', 2223, ['relay', 'play', 'record', 'conference'], { sessions: '1' }),
  instance('eu-west-media-2', 'media', 'eu-west', '127.0.2.12', 2223, ['relay', 'play', 'record'], { sessions: '0' }),
  instance('eu-west-central', 'central-media', 'eu-west', '127.0.2.20', 7000, ['record']),
  instance('ap-south-sig-1', 'signaling', 'ap-south', '127.0.3.1', 5060, ['anchor', 'sip-udp']),
  instance('ap-south-media-2', 'media', 'ap-south', '127.0.3.12', 2223, ['relay', 'play', 'record'], { sessions: '2' }),
];

describe('the control plane knows every region of the catalog', () => {
  it('refuses to start in a region the catalog does not have, naming it and the regions', async () => {
    const config = parseConfig({ region: 'mars', redis: { url: TEST_REDIS_URL, keyPrefix: PREFIX }, controlPlane: { address: '127.0.0.1' } });
    await expect(startControlPlane(config, { operatorPassword: 'whole-mesh-operator', port: 0 }, silentLogger)).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringContaining(`region: mars is not in the region catalog (default); regions: ${REGIONS}`),
    });
  });

  let cp: ControlPlane;
  let registrar: RedisDiscovery;
  const registrations: Registration[] = [];
  let account: AccountRecord;
  let victim: ChildProcess | undefined;
  const runDir = mkdtempSync(join(tmpdir(), 'whole-mesh-'));
  const pidsFile = join(runDir, 'pids.json');

  const tenant = async (method: string, path: string, form?: Record<string, string>): Promise<{ status: number; body: any }> => {
    const res = await fetch(`${cp.url}/2010-04-01${path}`, {
      method,
      headers: { Authorization: basic(account.sid, account.authToken), ...(form === undefined ? {} : { 'Content-Type': 'application/x-www-form-urlencoded' }) },
      ...(form === undefined ? {} : { body: new URLSearchParams(form).toString() }),
      signal: AbortSignal.timeout(3000),
    });
    return { status: res.status, body: await res.json() };
  };
  const operator = async (method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> => {
    const res = await fetch(`${cp.url}/v1${path}`, {
      method,
      headers: { Authorization: basic(cp.operator.username, cp.operator.password), ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(3000),
    });
    return { status: res.status, body: await res.json() };
  };
  /** /v1/regions once the control plane's discovery views hold every registered instance. */
  const regionsWhenSeen = async (): Promise<any[]> => {
    const deadline = Date.now() + 5000;
    for (;;) {
      const r = await operator('GET', '/regions');
      expect(r.status).toBe(200);
      const seen = (r.body.regions as any[]).flatMap((x) => [...x.signalingNodes, ...x.mediaNodes, ...x.centralMedia.nodes].filter((n) => n.healthy).map((n) => n.id as string));
      if (INSTANCES.every((i) => seen.includes(i.id))) return r.body.regions;
      if (Date.now() > deadline) throw new Error(`discovery view incomplete: ${seen.join(', ')}`);
      await new Promise((res) => setTimeout(res, 100));
    }
  };

  beforeAll(async () => {
    const config = parseConfig({ region: 'us-east', runDir, redis: { url: TEST_REDIS_URL, keyPrefix: PREFIX }, controlPlane: { address: '127.0.0.1' } });
    await clearKeys(TEST_REDIS_URL, PREFIX);
    registrar = new RedisDiscovery({ url: TEST_REDIS_URL, keyPrefix: discoveryKeyPrefix(config), pollIntervalMs: 50 });
    for (const i of INSTANCES) registrations.push(await registrar.register(i, { ttlMs: 10_000 }));
    cp = await startControlPlane(config, { operatorPassword: 'whole-mesh-operator', port: 0, pidsFile }, silentLogger);
    account = await bootstrapAccount(cp.redis, PREFIX, { friendlyName: 'Whole mesh tenant', homeRegion: 'us-east' });
  });

  afterAll(async () => {
    victim?.kill('SIGKILL');
    for (const r of registrations) await r.close();
    await registrar?.close();
    if (cp !== undefined) {
      const left = await cp.redis.keys(`${PREFIX}*`);
      if (left.length > 0) await cp.redis.del(...left);
      await cp.close();
    }
  });

  it('homes a subaccount and its numbers in eu-west; a number without HomeRegion takes its account home; an update moves it', async () => {
    const sub = await tenant('POST', '/Accounts.json', { FriendlyName: 'EU shop', HomeRegion: 'eu-west' });
    expect(sub.status).toBe(201);
    expect(sub.body).toMatchObject({ friendly_name: 'EU shop', home_region: 'eu-west', owner_account_sid: account.sid });
    const S = `/Accounts/${sub.body.sid}`;

    const inherited = await tenant('POST', `${S}/IncomingPhoneNumbers.json`, { PhoneNumber: '+15557110001', VoiceUrl: 'http://127.0.0.1:9/a' });
    expect(inherited.status).toBe(201);
    expect(inherited.body.home_region).toBe('eu-west');

    const explicit = await tenant('POST', `${S}/IncomingPhoneNumbers.json`, { PhoneNumber: '+15557110002', VoiceUrl: 'http://127.0.0.1:9/b', HomeRegion: 'ap-south' });
    expect(explicit.status).toBe(201);
    expect(explicit.body.home_region).toBe('ap-south');

    const moved = await tenant('POST', `${S}/IncomingPhoneNumbers/${inherited.body.sid}.json`, { HomeRegion: 'ap-south' });
    expect(moved.status).toBe(200);
    expect(moved.body.home_region).toBe('ap-south');
    expect((await tenant('GET', `${S}/IncomingPhoneNumbers/${inherited.body.sid}.json`)).body.home_region).toBe('ap-south');

    // The top-level account homes a number in eu-west too, and by default in its own us-east.
    const top = await tenant('POST', `/Accounts/${account.sid}/IncomingPhoneNumbers.json`, { PhoneNumber: '+15557110003', VoiceUrl: 'http://127.0.0.1:9/c', HomeRegion: 'eu-west' });
    expect(top.status).toBe(201);
    expect(top.body.home_region).toBe('eu-west');
    const own = await tenant('POST', `/Accounts/${account.sid}/IncomingPhoneNumbers.json`, { PhoneNumber: '+15557110004', VoiceUrl: 'http://127.0.0.1:9/d' });
    expect(own.body.home_region).toBe('us-east');
  });

  it('rejects an unknown HomeRegion with 400 naming the catalog regions, and stores nothing', async () => {
    const expected = { status: 400, code: 20001, message: `Invalid parameter HomeRegion: unknown region xx-yy; regions: ${REGIONS}` };
    const sub = await tenant('POST', '/Accounts.json', { FriendlyName: 'Nowhere', HomeRegion: 'xx-yy' });
    expect(sub.status).toBe(400);
    expect(sub.body).toMatchObject(expected);
    const list = await tenant('GET', '/Accounts.json?FriendlyName=Nowhere');
    expect(list.body.accounts).toEqual([]);

    const A = `/Accounts/${account.sid}`;
    const num = await tenant('POST', `${A}/IncomingPhoneNumbers.json`, { PhoneNumber: '+15557110009', VoiceUrl: 'http://127.0.0.1:9/x', HomeRegion: 'xx-yy' });
    expect(num.status).toBe(400);
    expect(num.body).toMatchObject(expected);
    expect((await tenant('GET', `${A}/IncomingPhoneNumbers.json?PhoneNumber=%2B15557110009`)).body.incoming_phone_numbers).toEqual([]);

    const ok = await tenant('POST', `${A}/IncomingPhoneNumbers.json`, { PhoneNumber: '+15557110010', VoiceUrl: 'http://127.0.0.1:9/y' });
    const upd = await tenant('POST', `${A}/IncomingPhoneNumbers/${ok.body.sid}.json`, { HomeRegion: 'xx-yy' });
    expect(upd.status).toBe(400);
    expect(upd.body).toMatchObject(expected);
    expect((await tenant('GET', `${A}/IncomingPhoneNumbers/${ok.body.sid}.json`)).body.home_region).toBe('us-east');
  });

  it('/v1/regions lists the three catalog regions with their nodes from discovery, central media and links', async () => {
    const regions = await regionsWhenSeen();
    expect(regions.map((r) => r.id)).toEqual(['us-east', 'eu-west', 'ap-south']);
    const eu = regions.find((r) => r.id === 'eu-west');
    expect(eu).toMatchObject({ sipAddress: '127.0.2.1', sipPort: 5060, addresses: '127.0.2.0/24' });
    expect(eu.signalingNodes.map((n: any) => [n.id, n.healthy])).toEqual([['eu-west-sig-1', true]]);
    expect(eu.mediaNodes.map((n: any) => [n.id, n.healthy, n.load, n.capabilities])).toEqual([
      ['eu-west-media-1', true, 1, ['relay', 'play', 'record', 'conference']],
      ['eu-west-media-2', true, 0, ['relay', 'play', 'record']],
    ]);
    expect(eu.centralMedia).toMatchObject({ address: '127.0.2.20', port: 8090, services: ['record'] });
    expect(eu.centralMedia.nodes.map((n: any) => n.id)).toEqual(['eu-west-central']);
    const ap = regions.find((r) => r.id === 'ap-south');
    expect(ap.mediaNodes.map((n: any) => [n.id, n.load])).toEqual([['ap-south-media-2', 2]]);
    const us = regions.find((r) => r.id === 'us-east');
    expect(us.mediaNodes.map((n: any) => [n.id, n.load])).toEqual([['us-east-media-1', 3]]);
    // Links: the catalog's delays; state from what discovery shows of the far end.
    expect(us.links).toEqual([
      { to: 'eu-west', oneWayDelayMs: 40, state: 'up', peerSignalingHealthy: 1, peerCentralMediaHealthy: 1 },
      { to: 'ap-south', oneWayDelayMs: 110, state: 'partial', peerSignalingHealthy: 1, peerCentralMediaHealthy: 0 },
    ]);
    expect(eu.links.map((l: any) => [l.to, l.oneWayDelayMs, l.state])).toEqual([
      ['us-east', 40, 'partial'],
      ['ap-south', 60, 'partial'],
    ]);
  });

  it('/v1/regions/eu-west/nodes answers 200, drills reach eu-west and ap-south nodes, an unknown region is 404 with the list', async () => {
    await regionsWhenSeen();
    const eu = await operator('GET', '/regions/eu-west/nodes');
    expect(eu.status).toBe(200);
    expect(eu.body.nodes.map((n: any) => [n.kind, n.id])).toEqual([
      ['central-media', 'eu-west-central'],
      ['media', 'eu-west-media-1'],
      ['media', 'eu-west-media-2'],
      ['signaling', 'eu-west-sig-1'],
    ]);
    expect((await operator('GET', '/regions/ap-south/nodes')).body.nodes.map((n: any) => n.id)).toEqual(['ap-south-media-2', 'ap-south-sig-1']);

    const drain = await operator('POST', '/drills', { action: 'drain', nodeId: 'eu-west-media-2' });
    expect(drain.status).toBe(200);
    expect(drain.body).toMatchObject({ action: 'drain', nodeId: 'eu-west-media-2', region: 'eu-west' });
    expect(await cp.redis.hexists(keys(PREFIX).drainedNodes(), 'eu-west-media-2')).toBe(1);
    // The listing shows the drain (operator state), alive nodes with their load.
    const drained = (await operator('GET', '/regions/eu-west/nodes')).body.nodes.find((n: any) => n.id === 'eu-west-media-2');
    expect(drained).toMatchObject({ state: 'drained', drained: true, drainedSince: drain.body.drainedSince, healthy: true, load: 0 });
    expect((await operator('POST', '/drills', { action: 'undrain', nodeId: 'eu-west-media-2' })).body).toMatchObject({ wasDrained: true });
    expect((await operator('GET', '/regions/eu-west/nodes')).body.nodes.find((n: any) => n.id === 'eu-west-media-2')).toMatchObject({ state: 'serving', drained: false, drainedSince: null });

    // Kill: the local mesh's process of an ap-south node gets SIGKILL, as make start's pids.json maps it.
    victim = spawn('sleep', ['30'], { stdio: 'ignore' });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => victim!.once('exit', (_, signal) => resolve(signal)));
    writeFileSync(pidsFile, JSON.stringify({ 'ap-south-media-2': victim.pid }));
    const kill = await operator('POST', '/drills', { action: 'kill', nodeId: 'ap-south-media-2' });
    expect(kill.status).toBe(200);
    expect(kill.body).toMatchObject({ action: 'kill', nodeId: 'ap-south-media-2', region: 'ap-south' });
    expect(await exited).toBe('SIGKILL');

    // A signaling node run as two processes (make start: active and standby): the one holding the lease is killed.
    const standby = spawn('sleep', ['30'], { stdio: 'ignore' });
    victim = spawn('sleep', ['30'], { stdio: 'ignore' });
    const activeExited = new Promise<NodeJS.Signals | null>((resolve) => victim!.once('exit', (_, signal) => resolve(signal)));
    writeFileSync(pidsFile, JSON.stringify({ 'eu-west-sig-1#1': standby.pid, 'eu-west-sig-1#2': victim.pid }));
    // No holder: a takeover is under way, nothing is killed.
    const early = await operator('POST', '/drills', { action: 'kill', nodeId: 'eu-west-sig-1' });
    expect(early.status).toBe(409);
    expect(early.body.message).toMatch(/no process of eu-west-sig-1 holds its lease/);
    await cp.redis.set(keys(PREFIX).signalingLease('eu-west-sig-1'), `host:${victim.pid}:0123abcd`, 'PX', 10_000);
    const sig = await operator('POST', '/drills', { action: 'kill', nodeId: 'eu-west-sig-1' });
    expect(sig.status).toBe(200);
    expect(sig.body).toMatchObject({ kind: 'signaling', process: 'eu-west-sig-1#2', pid: victim.pid, signal: 'SIGKILL' });
    expect(await activeExited).toBe('SIGKILL');
    expect(standby.exitCode).toBeNull();
    standby.kill('SIGKILL');

    const mars = await operator('GET', '/regions/mars/nodes');
    expect(mars.status).toBe(404);
    expect(mars.body.message).toBe(`region mars not found; regions: ${REGIONS}`);
  });
});
