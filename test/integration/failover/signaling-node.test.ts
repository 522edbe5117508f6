/**
 * Issue 3 item 7 (b): the active signaling node process is SIGKILLed while
 * calls are up. A standby process of the same node (same configuration,
 * `--standby`) sees the lease in Redis expire, binds the same SIP address,
 * loads the answered calls from Redis, and the caller's in-dialog BYE still
 * gets its 200 while the callee gets a BYE. Media is never touched (it flows
 * through rtpengine all along). Real processes: two node-main.ts under tsx,
 * two rtpengines, Redis, SIPp on both sides.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoredCall } from '../../../signaling/b2bua/call-store.js';
import { runSipp, startSipp } from '../../support/sipp.js';
import { TEST_REDIS_URL } from '../global-setup.js';
import {
  CALLEE, CARRIER, failoverConfig, SIG, spawnNodeProcess, startMediaPair, testMediaRegistry, waitFor, writeConfigFile,
  type MediaPair, type NodeProcess,
} from './harness.js';

const LEASE_TTL_MS = 2000;

describe('failover: the signaling node dies mid-call', () => {
  const logDir = mkdtempSync(join(tmpdir(), 'mesh-failover-sig-'));
  const prefix = `it-fo-sig-${Date.now()}:`;
  const config = failoverConfig(prefix, logDir);
  let media: MediaPair;
  let redis: Redis;
  const procs: NodeProcess[] = [];
  beforeAll(async () => {
    media = await startMediaPair(logDir);
    redis = new Redis(TEST_REDIS_URL, { lazyConnect: false, commandTimeout: 2000 });
  });
  afterAll(async () => {
    for (const p of procs) {
      p.kill('SIGTERM');
      await Promise.race([p.exited, new Promise((r) => setTimeout(r, 4000))]);
      p.kill('SIGKILL');
    }
    redis?.disconnect();
    await media?.close();
  });

  const liveCalls = async (): Promise<StoredCall[]> => {
    const sids = await redis.smembers(`${prefix}node:fo-sig-1:calls`);
    const out: StoredCall[] = [];
    for (const sid of sids) {
      const v = await redis.get(`${prefix}call:${sid}`);
      if (v !== null) out.push(JSON.parse(v) as StoredCall);
    }
    return out;
  };

  it('a standby takes over the address and the dialogs; BYE still ends every call on both legs', async () => {
    const configFile = writeConfigFile(config, logDir);
    const args = ['--lease-ttl-ms', String(LEASE_TTL_MS)];
    const active = spawnNodeProcess(configFile, args, join(logDir, 'active.log'));
    procs.push(active);
    await active.waitFor('READY', 30_000);
    const standby = spawnNodeProcess(configFile, [...args, '--standby'], join(logDir, 'standby.log'));
    procs.push(standby);
    await standby.waitFor('STANDBY', 30_000);
    // While the active renews its lease, the standby must not take over.
    await new Promise((r) => setTimeout(r, LEASE_TTL_MS + 500));
    expect(standby.output()).not.toContain('READY');

    const CALLS = 3;
    const uas = await startSipp({ scenario: 'uas-reinvite.xml', localAddress: CALLEE.address, localPort: CALLEE.port, mediaPort: 22000, rtpEcho: true, timeoutMs: 60_000 });
    await uas.ready;
    const caller = runSipp({
      scenario: 'uac-media-reinvite.xml',
      target: `${SIG.address}:${SIG.port}`,
      localAddress: CARRIER.address,
      localPort: CARRIER.port,
      mediaPort: 20000,
      service: '+15551234567',
      calls: CALLS,
      rate: 10,
      limit: CALLS,
      timeoutMs: 60_000,
    });
    await waitFor(async () => (await liveCalls()).filter((c) => c.state === 'answered' && c.bDialog !== undefined).length === CALLS, 10_000, 50);
    await new Promise((r) => setTimeout(r, 1000));
    // RTP relayed for these calls so far, from the media nodes themselves.
    const ng = await testMediaRegistry();
    const calls = await liveCalls();
    const relayed = async (): Promise<number> => {
      let sum = 0;
      for (const c of calls) {
        const q = await ng.node(c.mediaNodeId)!.engine.query(c.aCallId);
        for (const t of Object.values(q.tags)) sum += t.rtp.in.packets;
      }
      return sum;
    };

    const killedAt = Date.now();
    active.kill('SIGKILL');
    await standby.waitFor('READY', 15_000);
    const takeoverMs = Date.now() - killedAt;
    const line = /^TAKEOVER (.*)$/m.exec(standby.output());
    expect(line).not.toBeNull();
    const report = JSON.parse(line![1]!) as { adopted: number; skipped: number; takeoverMs: number };
    expect(report.adopted).toBe(CALLS);
    expect(report.skipped).toBe(0);
    // Media never depended on the signaling process: rtpengine kept relaying through the takeover.
    const atTakeover = await relayed();
    await new Promise((r) => setTimeout(r, 500));
    expect(await relayed()).toBeGreaterThan(atTakeover);
    await ng.close();

    const res = await caller;
    const uasRes = await uas.stop(1000);
    console.log(`signaling failover: lease ttl ${LEASE_TTL_MS} ms, kill → standby serving ${takeoverMs} ms (lease → calls adopted ${report.takeoverMs} ms), ${report.adopted} calls adopted`);
    // Every caller's BYE got its 200 from the standby, and every callee got a BYE and answered it.
    expect(res.failedCalls, res.errorsTail).toBe(0);
    expect(res.successfulCalls).toBe(CALLS);
    expect(uasRes.failedCalls, uasRes.errorsTail).toBe(0);
    expect(uasRes.successfulCalls).toBe(CALLS);
    expect(takeoverMs).toBeLessThan(LEASE_TTL_MS + 3000);
    // The standby recorded the ends: nothing live is left in Redis.
    await waitFor(async () => (await liveCalls()).length === 0, 3000, 50);
    expect(await redis.get(`${prefix}sig-lease:fo-sig-1`)).not.toBeNull();
  });
});
