/**
 * Drain that drains (issue 12): the operator's drain state in Redis
 * (regions/store/drained-nodes.ts, what POST /v1/drills writes) as a real
 * signaling node reads it. A drained signaling node answers new INVITEs 503
 * Node Draining with Retry-After while its live call runs to its BYE; undrain
 * opens it again. A drained media node keeps its call and gets no new one.
 * Real rtpengines, Redis and SIPp; the node in-process so the test can read
 * where each call's media was placed.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drainNode, undrainNode } from '../../../../regions/store/drained-nodes.js';
import type { StoredCall } from '../../../../signaling/b2bua/call-store.js';
import { buildRequest, sdpOffer, sendUdp } from '../../../support/raw-sip.js';
import { runSipp, startSipp, type SippInstance } from '../../../support/sipp.js';
import { waitUntil } from '../../../support/wait.js';
import { TEST_REDIS_URL } from '../../global-setup.js';
import { CALLEE, CARRIER, SIG, startTestRegion, type TestRegion } from './harness.js';

const PREFIX = `it-drain-${process.pid}:`;
const PROBE = { address: '127.0.4.7', port: 5097 };

/** A long call (uac-nomedia holds for callDurationMs) from its own port; resolves when SIPp is done. */
const longCalls = (calls: number, port: number, mediaPort: number, holdMs: number) =>
  runSipp({
    scenario: 'uac-nomedia.xml',
    target: `${SIG.address}:${SIG.port}`,
    localAddress: CARRIER.address,
    localPort: port,
    mediaPort,
    service: '+15551230001',
    calls,
    rate: 20,
    callDurationMs: holdMs,
    timeoutMs: holdMs + 20_000,
  });

describe('drain and undrain', () => {
  let region: TestRegion;
  let uas: SippInstance;
  let redis: Redis;
  beforeAll(async () => {
    region = await startTestRegion({ keyPrefix: PREFIX });
    redis = new Redis(TEST_REDIS_URL, { commandTimeout: 2000 });
    uas = await startSipp({ scenario: 'uas', localAddress: CALLEE.address, localPort: CALLEE.port, mediaPort: 23000, timeoutMs: 240_000 });
    await uas.ready;
  });
  afterAll(async () => {
    await uas?.stop(500);
    await region?.close();
    const left = (await redis?.keys(`${PREFIX}*`)) ?? [];
    if (left.length > 0) await redis.del(...left);
    redis?.disconnect();
  });

  it('a drained signaling node answers new INVITEs 503 + Retry-After while its live call completes; undrain takes calls again', async () => {
    const node = region.node;
    const live = longCalls(1, 5071, 24000, 4000);
    await waitUntil(() => node.calls.size === 1, 5000, 'the live call is up', 20);

    await drainNode(redis, PREFIX, 'it-sig-1');
    await node.reloadCarriers(); // what the node does every 3 s by itself
    expect(node.calls.isDraining).toBe(true);

    // New calls from SIPp: each one refused with 503 (uac-expect-503 succeeds only on a 503).
    const refused = await runSipp({
      scenario: 'uac-expect-503.xml',
      target: `${SIG.address}:${SIG.port}`,
      localAddress: CARRIER.address,
      localPort: 5072,
      mediaPort: 24100,
      service: '+15551230002',
      calls: 5,
      rate: 10,
      timeoutMs: 15_000,
    });
    expect(refused.successfulCalls).toBe(5);
    expect(refused.failedCalls).toBe(0);
    // The refusal names the reason and says when to come back.
    const answers = await sendUdp(buildRequest({ to: SIG, from: PROBE, user: '+15551230003', body: sdpOffer(PROBE.address, 7100) }), SIG, PROBE, 500);
    const final = answers.map((b) => b.toString('latin1')).find((t) => /^SIP\/2\.0 [2-6]\d\d /.test(t));
    expect(final).toMatch(/^SIP\/2\.0 503 Node Draining\r\n/);
    expect(final).toMatch(/\r\nRetry-After: \d+\r\n/i);

    // The call that was up when the drain came runs to its BYE.
    const done = await live;
    expect(done.successfulCalls).toBe(1);
    expect(done.failedCalls).toBe(0);
    expect(node.calls.size).toBe(0);

    await undrainNode(redis, PREFIX, 'it-sig-1');
    await node.reloadCarriers();
    expect(node.calls.isDraining).toBe(false);
    const again = await longCalls(3, 5073, 24200, 200);
    expect(again.successfulCalls).toBe(3);
  });

  it('a drained media node keeps its call and gets no new one; undrained, it is placed on again', async () => {
    const node = region.node;
    const mediaOf = async (): Promise<string[]> => {
      const sids = await redis.smembers(`${PREFIX}node:it-sig-1:calls`);
      const out: string[] = [];
      for (const sid of sids) {
        const v = await redis.get(`${PREFIX}call:${sid}`);
        if (v !== null) out.push((JSON.parse(v) as StoredCall).mediaNodeId);
      }
      return out.sort();
    };
    // Calls spread over both nodes (least loaded first): 4 calls put some on it-media-1.
    const before = longCalls(4, 5074, 24300, 6000);
    await waitUntil(() => node.calls.size === 4, 5000, 'four calls up', 20);
    await waitUntil(async () => (await mediaOf()).length === 4, 3000, 'four calls stored', 50);
    const first = await mediaOf();
    const onDrained = first.filter((id) => id === 'it-media-1').length;
    expect(onDrained).toBeGreaterThan(0);

    await drainNode(redis, PREFIX, 'it-media-1');
    await node.reloadCarriers();
    const during = longCalls(4, 5075, 24500, 1000);
    await waitUntil(() => node.calls.size === 8, 5000, 'four more calls up', 20);
    await waitUntil(async () => (await mediaOf()).length === 8, 3000, 'eight calls stored', 50);
    const all = await mediaOf();
    // The drained node kept its calls (none moved) and got none of the new four.
    expect(all.filter((id) => id === 'it-media-1')).toHaveLength(onDrained);
    expect(all.filter((id) => id === 'it-media-2')).toHaveLength(8 - onDrained);
    expect((await during).successfulCalls).toBe(4);
    expect((await before).successfulCalls).toBe(4);

    await undrainNode(redis, PREFIX, 'it-media-1');
    await node.reloadCarriers();
    const after = longCalls(2, 5076, 24700, 1500);
    await waitUntil(() => node.calls.size === 2, 5000, 'two calls up', 20);
    await waitUntil(async () => (await mediaOf()).length === 2, 3000, 'two calls stored', 50);
    // Both idle again: least loaded first puts one on each.
    expect(await mediaOf()).toEqual(['it-media-1', 'it-media-2']);
    expect((await after).successfulCalls).toBe(2);
  });
});
