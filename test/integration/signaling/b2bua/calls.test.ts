/**
 * 100 real calls: SIPp carrier → our B2BUA → SIPp callee, RTP from a G.711
 * pcap echoed by the callee, relayed by real rtpengine. Every call must
 * complete, rtpengine must have seen media from both parties of every call,
 * and the live call must be visible in Redis while it lasts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Call } from '../../../../signaling/b2bua/call.js';
import { runSipp, startSipp } from '../../../support/sipp.js';
import { CALLEE, CARRIER, SIG, startTestRegion, type TestRegion } from './harness.js';

describe('B2BUA: 100 calls with media through rtpengine', () => {
  let region: TestRegion;
  beforeAll(async () => {
    region = await startTestRegion({ keyPrefix: 'it-calls:' });
  });
  afterAll(async () => {
    await region?.close();
  });

  it('completes every call and relays RTP in both directions of each', async () => {
    const uas = await startSipp({
      scenario: 'uas-echo.xml',
      localAddress: CALLEE.address,
      localPort: CALLEE.port,
      mediaPort: 22000,
      rtpEcho: true,
      timeoutMs: 120_000,
    });
    await uas.ready;

    // While calls run, sample each answered call once from rtpengine (its session is
    // deleted at hang-up) and its record from Redis.
    const media = new Map<string, { caller: number; callee: number; node: string }>();
    const inRedis = new Set<string>();
    const sampling = new Set<string>();
    const sample = async (call: Call): Promise<void> => {
      const node = region.node.media.node(call.mediaNodeId)!;
      const q = await node.engine.query(call.a.callId);
      const caller = q.tags[call.a.remoteTag]?.rtp.in.packets ?? 0;
      const callee = q.tags[call.b.remoteTag ?? '']?.rtp.in.packets ?? 0;
      if (caller > 0 && callee > 0) media.set(call.sid, { caller, callee, node: call.mediaNodeId });
      const stored = await region.node.store.load(call.sid);
      if (stored?.state === 'answered' && stored.aDialog !== undefined && stored.bDialog !== undefined) inRedis.add(call.sid);
    };
    const poller = setInterval(() => {
      for (const call of region.node.b2bua.calls.values()) {
        if (call.state !== 'answered' || call.answeredAt === undefined) continue;
        if (Date.now() - call.answeredAt < 2500 || media.has(call.sid) || sampling.has(call.sid)) continue;
        sampling.add(call.sid);
        sample(call)
          .catch(() => {})
          .finally(() => sampling.delete(call.sid));
      }
    }, 200);

    const res = await runSipp({
      scenario: 'uac-basic.xml',
      target: `${SIG.address}:${SIG.port}`,
      localAddress: CARRIER.address,
      localPort: CARRIER.port,
      mediaPort: 20000,
      service: '+15551234567',
      calls: 100,
      rate: 20,
      limit: 100,
      timeoutMs: 90_000,
    });
    clearInterval(poller);
    await uas.stop(1000);

    expect(res.failedCalls, res.errorsTail).toBe(0);
    expect(res.successfulCalls).toBe(100);
    expect(region.node.b2bua.counters.answered).toBe(100);
    expect(region.node.b2bua.counters.completed).toBe(100);
    expect(media.size).toBe(100);
    for (const m of media.values()) {
      expect(m.caller).toBeGreaterThan(0);
      expect(m.callee).toBeGreaterThan(0);
    }
    // Both media nodes took calls: the least-loaded choice spreads them.
    const perNode = new Map<string, number>();
    for (const m of media.values()) perNode.set(m.node, (perNode.get(m.node) ?? 0) + 1);
    expect(perNode.size).toBe(2);
    expect(inRedis.size).toBeGreaterThanOrEqual(95);

    // Everything released: no live calls, no load left on the media nodes, Redis index empty.
    expect(region.node.b2bua.activeCalls).toBe(0);
    expect(region.node.media.snapshot().every((n) => n.load === 0)).toBe(true);
    expect(await region.node.store.listActive()).toEqual([]);
  });
});
