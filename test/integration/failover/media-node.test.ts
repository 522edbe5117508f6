/**
 * Issue 3 item 7 (a): the rtpengine carrying answered calls is SIGKILLed
 * mid-call. Its calls must move to the other media node of the region
 * (re-INVITE on both legs over the existing dialogs), RTP must resume through
 * that node, and the calls must still end with a normal BYE. Real rtpengine,
 * Redis and SIPp (caller plays the G.711 pcap, callee echoes it).
 *
 * The media gap is measured per call as the time from the kill to the first
 * poll (every 20 ms) at which the new node's ng query shows packets from
 * both parties: the caller's (it reached the new node) and the callee's echo
 * of them (it went through the new node both ways).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Call } from '../../../signaling/b2bua/call.js';
import { runSipp, startSipp, type SippInstance } from '../../support/sipp.js';
import { CALLEE, CARRIER, MEDIA_NODES, SIG, startInProcessRegion, waitFor, type InProcessRegion } from './harness.js';

/** Packets the node's ng query shows from each party of `call` (0 when the node has no such session). */
async function packetsOn(region: InProcessRegion, nodeId: string, call: Call): Promise<{ a: number; b: number }> {
  try {
    const q = await region.node.media.node(nodeId)!.engine.query(call.a.callId);
    return { a: q.tags[call.a.remoteTag]?.rtp.in.packets ?? 0, b: q.tags[call.b.remoteTag ?? '']?.rtp.in.packets ?? 0 };
  } catch {
    return { a: 0, b: 0 };
  }
}

describe('failover: a media node dies mid-call', () => {
  let region: InProcessRegion;
  let uas: SippInstance;
  beforeAll(async () => {
    region = await startInProcessRegion('it-fo-media:');
    uas = await startSipp({ scenario: 'uas-reinvite.xml', localAddress: CALLEE.address, localPort: CALLEE.port, mediaPort: 22000, rtpEcho: true, timeoutMs: 120_000 });
    await uas.ready;
  });
  afterAll(async () => {
    await uas?.stop(500);
    await region?.close();
  });

  it('moves every answered call to the surviving node; RTP resumes there in under 2 s; BYE still works', async () => {
    const CALLS = 4;
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
    const b2bua = region.node.b2bua;
    await waitFor(() => [...b2bua.calls.values()].filter((c) => c.state === 'answered').length === CALLS, 10_000);
    // Let media flow through the first node for a while.
    await new Promise((r) => setTimeout(r, 1500));
    const calls = [...b2bua.calls.values()];
    const victim = calls[0]!.mediaNodeId;
    const survivor = MEDIA_NODES.find((n) => n.id !== victim)!.id;
    const moving = calls.filter((c) => c.mediaNodeId === victim);
    const staying = calls.filter((c) => c.mediaNodeId !== victim);
    for (const c of moving) expect((await packetsOn(region, victim, c)).a).toBeGreaterThan(0);

    const killedAt = Date.now();
    region.rtpengines.get(victim)!.kill('SIGKILL');
    const detectMs = await waitFor(() => !region.node.media.isHealthy(victim), 2000, 10);

    // Per call: kill → first poll with packets from both parties on the survivor.
    const gaps = await Promise.all(
      moving.map(async (c) => {
        await waitFor(async () => {
          const p = await packetsOn(region, survivor, c);
          return p.a > 0 && p.b > 0;
        }, 5000);
        return Date.now() - killedAt;
      }),
    );
    for (const c of moving) {
      expect(c.mediaNodeId).toBe(survivor);
      expect((await region.node.store.load(c.sid))?.mediaNodeId).toBe(survivor);
    }
    for (const c of staying) expect(c.mediaNodeId).toBe(survivor);

    // RTP keeps flowing through the survivor: its counters grow.
    const before = await Promise.all(moving.map((c) => packetsOn(region, survivor, c)));
    await new Promise((r) => setTimeout(r, 1000));
    const after = await Promise.all(moving.map((c) => packetsOn(region, survivor, c)));
    moving.forEach((_, i) => {
      expect(after[i]!.a).toBeGreaterThan(before[i]!.a);
      expect(after[i]!.b).toBeGreaterThan(before[i]!.b);
    });

    const res = await caller;
    expect(res.failedCalls, res.errorsTail).toBe(0);
    expect(res.successfulCalls).toBe(CALLS);
    expect(b2bua.reanchorer.counters.moved).toBe(moving.length);
    expect(b2bua.reanchorer.counters.ended).toBe(0);
    expect(b2bua.counters.completed).toBe(CALLS);
    await waitFor(() => b2bua.activeCalls === 0, 3000);
    // The survivor's load is released; the dead node's allocations moved with the calls.
    expect(region.node.media.snapshot().every((n) => n.load === 0)).toBe(true);

    const maxGap = Math.max(...gaps);
    console.log(`media failover: ${moving.length} calls moved, detection ${detectMs} ms, media gap per call ${gaps.join(', ')} ms (max ${maxGap})`);
    expect(maxGap).toBeLessThan(2000);

    await region.startMedia(victim);
    await waitFor(() => region.node.media.isHealthy(victim), 5000);
  });

  it('no healthy node left: the call is ended cleanly with BYE on both legs', async () => {
    const b2bua = region.node.b2bua;
    const endedBefore = b2bua.reanchorer.counters.ended;
    const caller = runSipp({
      scenario: 'uac-recv-bye.xml',
      target: `${SIG.address}:${SIG.port}`,
      localAddress: CARRIER.address,
      localPort: CARRIER.port,
      mediaPort: 20000,
      service: '+15551234567',
      calls: 1,
      timeoutMs: 30_000,
    });
    await waitFor(() => [...b2bua.calls.values()].some((c) => c.state === 'answered'), 10_000);
    for (const p of region.rtpengines.values()) p.kill('SIGKILL');
    const res = await caller;
    // The caller got our BYE (its scenario waits for one) and so did the callee (below).
    expect(res.failedCalls, res.errorsTail).toBe(0);
    expect(res.successfulCalls).toBe(1);
    expect(b2bua.reanchorer.counters.ended).toBe(endedBefore + 1);
    expect(b2bua.activeCalls).toBe(0);
    const uasRes = await uas.stop(500);
    // First test's calls + this one: the callee saw every call end with a BYE.
    expect(uasRes.successfulCalls, uasRes.errorsTail).toBe(5);
    for (const n of MEDIA_NODES) await region.startMedia(n.id);
  });
});
