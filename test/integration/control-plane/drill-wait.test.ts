/**
 * Issue 12, "operators see what happened": POST /v1/drills with `wait`
 * answers once the drill's effect is seen, with detection and recovery times
 * and the calls affected. Real processes: two rtpengines, an active and a
 * standby signaling node (node-main.ts under tsx), Redis, SIPp caller and
 * callee; the operator app is the production one, its executor signals the
 * real processes and its node list comes from real health pings.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOperatorApp } from '../../../control-plane/operator/app.js';
import type { DrillFollowUp } from '../../../control-plane/operator/drill-wait.js';
import { nodeInfoFromMedia, type NodeInfo } from '../../../control-plane/operator/types.js';
import type { MediaNodeRegistry } from '../../../media/nodes/registry.js';
import type { StoredCall } from '../../../signaling/b2bua/call-store.js';
import { runSipp, startSipp, type SippInstance } from '../../support/sipp.js';
import {
  CALLEE, CARRIER, failoverConfig, SIG, spawnNodeProcess, startMediaPair, testMediaRegistry, waitFor, writeConfigFile,
  type MediaPair, type NodeProcess,
} from '../failover/harness.js';
import { TEST_REDIS_URL } from '../global-setup.js';

const LEASE_TTL_MS = 2000;
const PASSWORD = 'drill-wait-pw';

describe('POST /v1/drills with wait', () => {
  const logDir = mkdtempSync(join(tmpdir(), 'mesh-drill-wait-'));
  const prefix = `it-drill-wait-${Date.now()}:`;
  const config = failoverConfig(prefix, logDir);
  let media: MediaPair;
  let redis: Redis;
  let ng: MediaNodeRegistry;
  let uas: SippInstance | undefined;
  let active: NodeProcess;
  const procs: NodeProcess[] = [];
  let app: ReturnType<typeof createOperatorApp>;

  beforeAll(async () => {
    media = await startMediaPair(logDir);
    redis = new Redis(TEST_REDIS_URL, { lazyConnect: false, commandTimeout: 2000 });
    ng = await testMediaRegistry();
    const configFile = writeConfigFile(config, logDir);
    const args = ['--lease-ttl-ms', String(LEASE_TTL_MS)];
    active = spawnNodeProcess(configFile, args, join(logDir, 'active.log'));
    procs.push(active);
    await active.waitFor('READY', 30_000);
    const standby = spawnNodeProcess(configFile, [...args, '--standby'], join(logDir, 'standby.log'));
    procs.push(standby);
    await standby.waitFor('STANDBY', 30_000);
    uas = await startSipp({ scenario: 'uas-reinvite.xml', localAddress: CALLEE.address, localPort: CALLEE.port, mediaPort: 22000, rtpEcho: true, timeoutMs: 90_000 });
    await uas.ready;
    const nodes = (): NodeInfo[] => [
      ...ng.snapshot().map((s) => nodeInfoFromMedia('us-east', s)),
      { id: 'fo-sig-1', region: 'us-east', kind: 'signaling', healthy: true, load: null, state: 'serving', drained: false, drainedSince: null, lastPingAt: null },
    ];
    app = createOperatorApp({
      redis,
      keyPrefix: prefix,
      operator: { username: 'operator', password: PASSWORD },
      regions: [{ id: 'us-east' }],
      nodes,
      drills: {
        kill: async (nodeId) => {
          const p = nodeId === 'fo-sig-1' ? { process: 'fo-sig-1#1', pid: active.child.pid! } : { process: nodeId, pid: media.rtpengines.get(nodeId)!.pid };
          process.kill(p.pid, 'SIGKILL');
          return { ...p, signal: 'SIGKILL' as const };
        },
      },
      placementTrace: async () => undefined,
    });
  });
  afterAll(async () => {
    await uas?.stop(1000).catch(() => undefined);
    for (const p of procs) {
      p.kill('SIGTERM');
      await Promise.race([p.exited, new Promise((r) => setTimeout(r, 4000))]);
      p.kill('SIGKILL');
    }
    await ng?.close();
    redis?.disconnect();
    await media?.close();
  });

  const drill = async (body: unknown): Promise<{ status: number; body: { followUp?: DrillFollowUp; did: string } }> => {
    const res = await app.request('/drills', {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`operator:${PASSWORD}`).toString('base64')}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as { followUp?: DrillFollowUp; did: string } };
  };
  const live = async (): Promise<StoredCall[]> => {
    const sids = await redis.smembers(`${prefix}node:fo-sig-1:calls`);
    const values = sids.length === 0 ? [] : await redis.mget(...sids.map((s) => `${prefix}call:${s}`));
    return values.filter((v): v is string => v !== null).map((v) => JSON.parse(v) as StoredCall).filter((c) => c.state === 'answered' && c.bDialog !== undefined);
  };

  it('400s a wait out of bounds', async () => {
    const r = await drill({ action: 'kill', nodeId: 'fo-media-1', wait: 61 });
    expect(r.status).toBe(400);
    expect(JSON.stringify(r.body)).toMatch(/wait/);
  });

  it('media kill: answers once the node is seen dead and its calls re-anchored; signaling kill: once the standby serves with the calls adopted', async () => {
    const CALLS = 6;
    const caller = runSipp({
      scenario: 'uac-media-reinvite.xml', target: `${SIG.address}:${SIG.port}`, localAddress: CARRIER.address, localPort: CARRIER.port,
      mediaPort: 20000, service: '+15551234567', calls: CALLS, rate: 20, limit: CALLS, timeoutMs: 80_000,
    });
    await waitFor(async () => (await live()).length === CALLS, 10_000, 50);
    const calls = await live();
    const counts = new Map<string, number>();
    for (const c of calls) counts.set(c.mediaNodeId, (counts.get(c.mediaNodeId) ?? 0) + 1);
    const [victim, onVictim] = [...counts.entries()].sort((a, b) => b[1] - a[1])[0]!;

    const m = await drill({ action: 'kill', nodeId: victim, wait: 15 });
    expect(m.status).toBe(200);
    const mf = m.body.followUp!;
    console.log(`media kill with wait: ${JSON.stringify(mf)}`);
    expect(mf).toMatchObject({ complete: true, callsAffected: onVictim, callsMoved: onVictim, callsEnded: 0 });
    expect(mf.detectionMs).toBeGreaterThan(0);
    expect(mf.recoveryMs!).toBeGreaterThanOrEqual(mf.detectionMs!);
    expect(mf.recoveryMs!).toBeLessThan(10_000);
    expect((await live()).every((c) => c.mediaNodeId !== victim)).toBe(true);

    const s = await drill({ action: 'kill', nodeId: 'fo-sig-1', wait: true });
    expect(s.status).toBe(200);
    const sf = s.body.followUp!;
    console.log(`signaling kill with wait: ${JSON.stringify(sf)}`);
    expect(sf).toMatchObject({ complete: true, callsAffected: CALLS, callsAdopted: CALLS });
    expect(sf.detectionMs!).toBeGreaterThan(0);
    expect(sf.recoveryMs!).toBeGreaterThanOrEqual(sf.detectionMs!);
    expect(sf.recoveryMs!).toBeLessThan(LEASE_TTL_MS + 5000);

    const res = await caller;
    expect(res.failedCalls, res.errorsTail).toBe(0);
  });

  it('signaling drain and undrain: answer once the node reports refusing, then taking, new calls', async () => {
    const d = await drill({ action: 'drain', nodeId: 'fo-sig-1', wait: 15 });
    expect(d.status).toBe(200);
    expect(d.body.followUp).toMatchObject({ complete: true, recoveryMs: null });
    expect(d.body.followUp!.detectionMs).toBeGreaterThan(0);
    const u = await drill({ action: 'undrain', nodeId: 'fo-sig-1', wait: 15 });
    expect(u.status).toBe(200);
    expect(u.body.followUp).toMatchObject({ complete: true });
    console.log(`drain with wait: ${JSON.stringify(d.body.followUp)}; undrain: ${JSON.stringify(u.body.followUp)}`);
  });
});
