/**
 * Discovery away: a signaling node whose discovery Redis is unreachable
 * starts, carries a real call, logs the outage once, and registers once that
 * Redis appears; when it dies again the node keeps its last known view, and
 * when it returns empty the lost registrations are repaired. Real Redis
 * (started and SIGKILLed by the test on 127.0.22.40), real rtpengine, SIPp.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../../infra/config.js';
import { createLogger } from '../../../regions/core/log.js';
import { startSignalingNode, type SignalingNode } from '../../../infra/signaling-node.js';
import { RedisDiscovery } from '../../../regions/discovery/redis-discovery.js';
import { runSipp, startSipp } from '../../support/sipp.js';
import { waitUntil } from '../../support/wait.js';
import { startMediaSet, testRegionConfig, type MediaSet } from '../signaling/b2bua/harness.js';

const PREFIX = `it-disc-outage-${process.pid}:`;
const DISC_REDIS = { host: '127.0.22.40', port: 6406 };
const DISC_URL = `redis://${DISC_REDIS.host}:${DISC_REDIS.port}`;
const SIG = { address: '127.0.22.7', port: 5060 };
const CARRIER = { address: '127.0.22.8', port: 5070 };
const CALLEE = { address: '127.0.22.9', port: 5090 };
const MEDIA = [{ id: 'do-media-1', address: '127.0.22.13', ngPort: 2223, rtpPortMin: 43600, rtpPortMax: 43999 }];

/** A throwaway Redis the test can SIGKILL. */
async function startDiscoveryRedis(): Promise<ChildProcess> {
  const p = spawn('redis-server', ['--port', String(DISC_REDIS.port), '--bind', DISC_REDIS.host, '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const probe = new RedisDiscovery({ url: DISC_URL, keyPrefix: `${PREFIX}probe:`, commandTimeoutMs: 200 });
  try {
    await waitUntil(async () => probe.list({ service: 'x' }).then(() => true, () => false), 5000, 'discovery redis up', 50);
  } finally {
    await probe.close();
  }
  return p;
}

async function kill(p: ChildProcess | undefined): Promise<void> {
  if (p === undefined || p.exitCode !== null || p.signalCode !== null) return;
  const exited = new Promise((r) => p.once('exit', r));
  p.kill('SIGKILL');
  await exited;
}

describe('a signaling node with its discovery unreachable', () => {
  let media: MediaSet;
  let node: SignalingNode;
  let config: Config;
  let redis: ChildProcess | undefined;
  let observer: RedisDiscovery | undefined;
  const lines: { level: string; msg: string; part?: string }[] = [];
  const measured: Record<string, number> = {};
  const outageLines = (): number => lines.filter((l) => l.msg.startsWith('discovery unreachable')).length;
  const listedIds = async (service: string): Promise<string[]> => (await observer!.list({ service })).map((i) => i.id);

  beforeAll(async () => {
    const logDir = mkdtempSync(join(tmpdir(), 'mesh-disc-outage-'));
    media = await startMediaSet(MEDIA, logDir);
    config = testRegionConfig(
      { keyPrefix: PREFIX, nodeId: 'do-sig-1', sip: SIG, mediaNodes: MEDIA, transports: ['UDP'], routes: [{ prefix: '+1555', destination: `sip:${CALLEE.address}:${CALLEE.port}` }] },
      logDir,
    );
    // Discovery on its own Redis, down for now; the node's state Redis is the suite's.
    config.discovery.redisUrl = DISC_URL;
    config.discovery.maxBackoffMs = 1000;
    config.discovery.reconcileMs = 500;
    const t0 = Date.now();
    node = await startSignalingNode(config, createLogger('info', {}, (l) => lines.push(JSON.parse(l) as never)));
    measured.startWithDiscoveryDownMs = Date.now() - t0;
  });

  afterAll(async () => {
    console.log(`discovery outage, measured (ms): ${JSON.stringify(measured)}`);
    await node?.close();
    await media?.close();
    await observer?.close();
    await kill(redis);
  });

  it('starts and carries a call, logging the outage once', async () => {
    expect(measured.startWithDiscoveryDownMs).toBeLessThan(5000);
    const uas = await startSipp({ scenario: 'uas-echo.xml', localAddress: CALLEE.address, localPort: CALLEE.port, mediaPort: 22200, rtpEcho: true, timeoutMs: 60_000 });
    await uas.ready;
    const res = await runSipp({
      scenario: 'uac-basic.xml',
      target: `${SIG.address}:${SIG.port}`,
      localAddress: CARRIER.address,
      localPort: CARRIER.port,
      mediaPort: 22300,
      service: '+15551234567',
      calls: 1,
      timeoutMs: 30_000,
    });
    await uas.stop(500);
    expect(res.failedCalls, res.errorsTail).toBe(0);
    expect(res.successfulCalls).toBe(1);
    // Several seconds of failing heartbeats, reconnects and retries: one log line.
    expect(outageLines()).toBe(1);
  });

  it('registers once discovery is reachable, and says so', async () => {
    const t0 = Date.now();
    redis = await startDiscoveryRedis();
    observer = new RedisDiscovery({ url: DISC_URL, keyPrefix: `${PREFIX}disc:`, pollIntervalMs: 50 });
    await waitUntil(async () => (await listedIds('signaling')).includes('do-sig-1') && (await listedIds('media')).includes('do-media-1'), 10_000, 'registered after outage', 20);
    measured.discoveryBackToRegisteredMs = Date.now() - t0;
    // Retries wait at most maxBackoffMs (1000) plus one reconcile pass (500), after Redis is up.
    expect(measured.discoveryBackToRegisteredMs).toBeLessThan(5000);
    await waitUntil(() => node.discovery.media.has('do-media-1'), 3000, 'node view filled');
    expect(lines.some((l) => l.msg === 'discovery reachable again')).toBe(true);
  });

  it('keeps its last known view when discovery dies, and repairs its registrations when it returns empty', async () => {
    await kill(redis);
    await new Promise((r) => setTimeout(r, 1500));
    // Last known view kept; placement still works from the local pings.
    expect(node.discovery.media.instances().map((i) => i.id)).toEqual(['do-media-1']);
    expect(node.mediaPort.acquire('outage-call').nodeId).toBe('do-media-1');
    node.mediaPort.release('outage-call');
    expect(outageLines()).toBe(2);

    // A Redis that comes back without its data (no persistence): the registrar notices the loss and registers again.
    const t0 = Date.now();
    redis = await startDiscoveryRedis();
    await waitUntil(async () => (await listedIds('signaling')).includes('do-sig-1') && (await listedIds('media')).includes('do-media-1'), 10_000, 'repaired', 20);
    measured.emptyRedisBackToRegisteredMs = Date.now() - t0;
    expect(measured.emptyRedisBackToRegisteredMs).toBeLessThan(5000);
  });
});
