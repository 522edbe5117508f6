/**
 * The running nodes use discovery (issue 3, Deliver 2): real Redis, real
 * rtpengines, real SIPp, on 127.0.22.0/24. A signaling node registers itself
 * and its healthy media nodes; a SIGKILLed rtpengine leaves the healthy list;
 * placement reaches another region's media node through discovery; the
 * operator API reports from discovery; a stopped node deregisters, a
 * SIGKILLed one drops out by TTL. Times are measured and printed.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig, type Config } from '../../../infra/config.js';
import { startControlPlane, type ControlPlane } from '../../../infra/control-plane.js';
import { createMeshDiscovery } from '../../../infra/discovery.js';
import { silentLogger } from '../../../regions/core/log.js';
import { announceCentralMedia } from '../../../infra/node-discovery.js';
import { startCentralMediaNode } from '../../../media/central/central-media-node.js';
import { startSignalingNode, type SignalingNode } from '../../../infra/signaling-node.js';
import { RedisDiscovery } from '../../../regions/discovery/redis-discovery.js';
import type { DiscoveryChange, ServiceInstance } from '../../../regions/discovery/types.js';
import { runSipp, startSipp } from '../../support/sipp.js';
import { waitUntil } from '../../support/wait.js';
import { fileLogger, startMediaSet, startTestRegion, testRegionConfig, type MediaSet, type TestRegion } from '../signaling/b2bua/harness.js';
import { spawnNodeProcess, writeConfigFile } from '../failover/harness.js';
import { TEST_REDIS_URL } from '../global-setup.js';

const PREFIX = `it-disc-wiring-${process.pid}:`;
const SIG = { address: '127.0.22.1', port: 5060 };
const CARRIER = { address: '127.0.22.2', port: 5070 };
const CALLEE = { address: '127.0.22.3', port: 5090 };
const EU_SIG = { address: '127.0.22.5', port: 5060 };
const PROC_SIG = { address: '127.0.22.6', port: 5060 };
const CENTRAL = '127.0.22.30';

// Distinct capabilities per node, so the test sees they come from configuration.
const MEDIA = [
  { id: 'dw-media-1', address: '127.0.22.11', ngPort: 2223, rtpPortMin: 42000, rtpPortMax: 42499, capabilities: ['relay', 'play'] },
  { id: 'dw-media-2', address: '127.0.22.12', ngPort: 2223, rtpPortMin: 42500, rtpPortMax: 42999, capabilities: ['record', 'transcode'] },
];
const EU_MEDIA = [{ id: 'dw-eu-media-1', address: '127.0.22.21', ngPort: 2223, rtpPortMin: 43000, rtpPortMax: 43499, capabilities: ['relay', 'play'] }];

const ids = (list: readonly ServiceInstance[]): string[] => list.map((i) => i.id);

describe('discovery wiring of the running nodes', () => {
  let region: TestRegion;
  let euMedia: MediaSet;
  let eu: SignalingNode | undefined;
  let euEnd: (() => void) | undefined;
  let observer: RedisDiscovery;
  let cp: ControlPlane;
  const measured: Record<string, number> = {};

  const listed = async (service: string): Promise<string[]> => ids(await observer.list({ service }));
  const operatorNodes = async (r = 'us-east'): Promise<{ id: string; kind: string; healthy: boolean; capabilities?: string[]; source?: string; lastSeenAt?: string | null; load: number | null }[]> => {
    const res = await fetch(`${cp.url}/v1/regions/${r}/nodes`, {
      headers: { Authorization: `Basic ${Buffer.from(`${cp.operator.username}:${cp.operator.password}`).toString('base64')}` },
      signal: AbortSignal.timeout(3000),
    });
    expect(res.status).toBe(200);
    return ((await res.json()) as { nodes: never[] }).nodes;
  };

  beforeAll(async () => {
    // The harness's mesh option carries linkDelaysMs through to the configuration.
    const mesh = { peers: [], homeRules: [], linkDelaysMs: { 'eu-west': 40 } };
    region = await startTestRegion({
      keyPrefix: PREFIX,
      nodeId: 'dw-sig-1',
      sip: SIG,
      mediaNodes: MEDIA,
      routes: [{ prefix: '+1555', destination: `sip:${CALLEE.address}:${CALLEE.port}` }],
      mesh,
      healthIntervalMs: 250,
    });
    euMedia = await startMediaSet(EU_MEDIA, region.logDir);
    observer = new RedisDiscovery({ url: TEST_REDIS_URL, keyPrefix: `${PREFIX}disc:`, pollIntervalMs: 50 });
    const cpConfig: Config = parseConfig({ ...region.config, controlPlane: { ...region.config.controlPlane, address: SIG.address } });
    cp = await startControlPlane(cpConfig, { operatorPassword: 'discovery-wiring-secret', port: 0 }, silentLogger);
  });

  afterAll(async () => {
    if (Object.keys(measured).length > 0) console.log(`discovery wiring, measured (ms): ${JSON.stringify(measured)}`);
    await cp?.close();
    await eu?.close();
    euEnd?.();
    await region?.close();
    await euMedia?.close();
    await observer?.close();
  });

  it('registers the signaling node and both healthy media nodes with region, address and capabilities', async () => {
    await waitUntil(async () => (await listed('media')).length === 2 && (await listed('signaling')).includes('dw-sig-1'), 5000, 'registrations');
    const media = await observer.list({ service: 'media', region: 'us-east' });
    expect(media.map((m) => [m.id, m.region, `${m.address}:${m.port}`, m.capabilities])).toEqual([
      ['dw-media-1', 'us-east', '127.0.22.11:2223', ['relay', 'play']],
      ['dw-media-2', 'us-east', '127.0.22.12:2223', ['relay', 'record', 'transcode']],
    ]);
    expect(media[0]?.meta).toMatchObject({ sessions: '0', drained: '0', signalingNode: 'dw-sig-1', ngPort: '2223' });
    // Capability queries go to discovery too.
    expect(ids(await observer.list({ service: 'media', capability: 'record' }))).toEqual(['dw-media-2']);
    const [sig] = await observer.list({ service: 'signaling', region: 'us-east' });
    expect(sig).toMatchObject({ id: 'dw-sig-1', region: 'us-east', address: SIG.address, port: SIG.port, capabilities: ['anchor', 'sip-udp', 'sip-tcp'] });
    // The node's own watched view sees the same.
    await waitUntil(() => region.node.discovery.media.instances().length === 2, 3000, 'node view');
  });

  it('the operator API reports the nodes from discovery', async () => {
    await waitUntil(async () => (await operatorNodes()).filter((n) => n.healthy).length === 3, 5000, 'operator view');
    const nodes = await operatorNodes();
    expect(nodes.map((n) => [n.kind, n.id, n.healthy, n.source])).toEqual([
      ['media', 'dw-media-1', true, 'discovery'],
      ['media', 'dw-media-2', true, 'discovery'],
      ['signaling', 'dw-sig-1', true, 'discovery'],
    ]);
    expect(nodes.find((n) => n.id === 'dw-media-2')?.capabilities).toEqual(['relay', 'record', 'transcode']);
  });

  it('a SIGKILLed rtpengine leaves the healthy list within a bounded time', async () => {
    const removedAt = new Map<string, number>();
    const unwatch = observer.watch({ service: 'media' }, (c: DiscoveryChange) => {
      for (const r of c.removed) if (!c.instances.some((i) => i.id === r.id)) removedAt.set(r.id, Date.now());
    });
    try {
      await waitUntil(async () => (await listed('media')).includes('dw-media-1'), 2000, 'media-1 listed');
      const t0 = Date.now();
      region.rtpengines.get('dw-media-1')!.kill('SIGKILL');
      await waitUntil(async () => !(await listed('media')).includes('dw-media-1'), 5000, 'media-1 gone from list', 10);
      const listMs = Date.now() - t0;
      await waitUntil(() => removedAt.has('dw-media-1'), 2000, 'watch removal');
      measured.rtpengineKillToListGoneMs = listMs;
      measured.rtpengineKillToWatchRemovedMs = removedAt.get('dw-media-1')! - t0;
      // Health interval 250 ms + ping timeout 400 ms, then one Redis round trip.
      expect(listMs).toBeLessThan(2000);
      expect(await listed('media')).toEqual(['dw-media-2']);
      await waitUntil(() => !region.node.discovery.media.has('dw-media-1'), 2000, 'node view drops it');
      const nodes = await operatorNodes();
      await waitUntil(async () => (await operatorNodes()).find((n) => n.id === 'dw-media-1')?.healthy === false, 3000, 'operator sees it down');
      expect(nodes.find((n) => n.id === 'dw-media-2')?.healthy).toBe(true);
      const gone = (await operatorNodes()).find((n) => n.id === 'dw-media-1');
      expect(gone?.lastSeenAt).toEqual(expect.any(String));
    } finally {
      unwatch();
    }
  });

  it("placement reaches another region's media node through discovery when no local one is healthy", async () => {
    const logDir = mkdtempSync(join(tmpdir(), 'mesh-disc-eu-'));
    const euConfig = testRegionConfig({ keyPrefix: PREFIX, region: 'eu-west', nodeId: 'dw-eu-sig-1', sip: EU_SIG, mediaNodes: EU_MEDIA, transports: ['UDP'] }, logDir);
    const fl = fileLogger(logDir);
    euEnd = fl.end;
    eu = await startSignalingNode(euConfig, fl.log);
    await waitUntil(() => region.node.discovery.media.has('dw-eu-media-1'), 5000, 'us-east sees the eu-west media node');
    const inInput = region.node.mediaPort.placementNodes().find((n) => n.id === 'dw-eu-media-1');
    expect(inInput).toMatchObject({ region: 'eu-west', healthy: true, capabilities: ['relay', 'play'] });

    // Take the last local node down too: the call must go through eu-west's rtpengine.
    region.rtpengines.get('dw-media-2')!.kill('SIGKILL');
    await waitUntil(() => !region.node.media.isHealthy('dw-media-2') && !region.node.media.isHealthy('dw-media-1'), 3000, 'no local media');

    const uas = await startSipp({ scenario: 'uas-echo.xml', localAddress: CALLEE.address, localPort: CALLEE.port, mediaPort: 22100, rtpEcho: true, timeoutMs: 60_000 });
    await uas.ready;
    const usedNodes = new Set<string>();
    const poll = setInterval(() => {
      for (const c of region.node.b2bua.calls.values()) if (c.state === 'answered') usedNodes.add(c.mediaNodeId);
    }, 50);
    const before = region.node.mediaPort.placements['remote'] ?? 0;
    const res = await runSipp({
      scenario: 'uac-basic.xml',
      target: `${SIG.address}:${SIG.port}`,
      localAddress: CARRIER.address,
      localPort: CARRIER.port,
      mediaPort: 22000,
      service: '+15551234567',
      calls: 1,
      timeoutMs: 30_000,
    });
    clearInterval(poll);
    await uas.stop(500);
    expect(res.failedCalls, res.errorsTail).toBe(0);
    expect(res.successfulCalls).toBe(1);
    expect([...usedNodes]).toEqual(['dw-eu-media-1']);
    expect((region.node.mediaPort.placements['remote'] ?? 0) - before).toBe(1);
  });

  it('the central media service registers as central-media with capability record', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'mesh-disc-central-'));
    const central = await startCentralMediaNode({ region: 'us-east', nodeId: 'dw-central', rtpAddress: CENTRAL, portMin: 43500, portMax: 43599, dataDir, linkHost: CENTRAL, linkPort: 0 });
    const md = createMeshDiscovery(region.config, silentLogger);
    const withdraw = announceCentralMedia(md.registrar, { region: 'us-east', nodeId: 'dw-central', linkHost: CENTRAL, linkPort: central.linkPort, uploadUrl: central.uploadUrl });
    try {
      await waitUntil(async () => (await listed('central-media')).includes('dw-central'), 5000, 'central listed');
      const [c] = await observer.list({ service: 'central-media', capability: 'record' });
      expect(c).toMatchObject({ id: 'dw-central', region: 'us-east', address: CENTRAL, port: central.linkPort, capabilities: ['record'] });
      await waitUntil(async () => (await operatorNodes()).some((n) => n.kind === 'central-media' && n.id === 'dw-central' && n.healthy), 3000, 'operator lists central');
      await withdraw();
      expect(await listed('central-media')).toEqual([]);
    } finally {
      await md.close();
      await central.close();
    }
  });

  it('a media node that answers again is registered again; a stopped signaling node deregisters itself and its media nodes', async () => {
    const t0 = Date.now();
    await region.startMedia('dw-media-1');
    const spawnedMs = Date.now() - t0;
    await waitUntil(async () => (await listed('media')).includes('dw-media-1'), 5000, 'media-1 back', 10);
    // From the rtpengine being ready (startMedia resolves then) to discovery listing it again.
    measured.rtpengineReadyToListedMs = Date.now() - t0 - spawnedMs;
    const t1 = Date.now();
    await region.node.close();
    measured.signalingCloseMs = Date.now() - t1;
    // Deregistered during close, not by TTL: gone at once.
    expect(await listed('signaling')).toEqual(['dw-eu-sig-1']);
    expect(await listed('media')).toEqual(['dw-eu-media-1']);
  });

  it('a SIGKILLed signaling process drops out when its TTL lapses, with the media nodes it registered', async () => {
    const config = testRegionConfig({ keyPrefix: PREFIX, nodeId: 'dw-sig-proc', sip: PROC_SIG, mediaNodes: [MEDIA[0]!], transports: ['UDP'], logLevel: 'info' }, region.logDir);
    const file = writeConfigFile(config, region.logDir);
    const proc = spawnNodeProcess(file, [], join(region.logDir, 'proc.log'));
    try {
      await proc.waitFor('READY', 20_000);
      await waitUntil(async () => (await listed('signaling')).includes('dw-sig-proc') && (await listed('media')).includes('dw-media-1'), 5000, 'process registered');
      const t0 = Date.now();
      proc.kill('SIGKILL');
      await proc.exited;
      await waitUntil(async () => !(await listed('signaling')).includes('dw-sig-proc'), 10_000, 'signaling TTL', 10);
      const sigMs = Date.now() - t0;
      await waitUntil(async () => !(await listed('media')).includes('dw-media-1'), 5000, 'media TTL', 10);
      const mediaMs = Date.now() - t0;
      measured.signalingKillToTtlGoneMs = sigMs;
      measured.signalingKillMediaGoneMs = mediaMs;
      measured.ttlMs = config.discovery.ttlMs;
      // The last heartbeat was at most ttl/3 before the kill, so the entry lapses between 2/3 ttl and ttl after it.
      expect(sigMs).toBeGreaterThanOrEqual((config.discovery.ttlMs * 2) / 3 - 100);
      expect(sigMs).toBeLessThanOrEqual(config.discovery.ttlMs + 500);
    } finally {
      proc.kill('SIGKILL');
      await proc.exited;
    }
  });
});
