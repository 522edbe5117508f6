import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRtpengine } from '../../../../infra/rtpengine.js';
import type { ManagedProcess } from '../../../../infra/process.js';
import { NgClient } from '../../../../media/ng/client.js';
import { MediaNodeRegistry, type MediaHealthChange } from '../../../../media/nodes/registry.js';
import { MeshError } from '../../../../regions/core/errors.js';
import { LOG_DIR, audioSdp, waitFor } from '../helpers.js';

/**
 * Failure is normal (DESIGN.md): a media node killed with a real SIGKILL is
 * taken out of rotation within 2 s, and with no node left new calls get
 * SERVICE_UNAVAILABLE (SIP 503) at once instead of waiting on ng timeouts.
 */
describe('MediaNodeRegistry with real rtpengines', () => {
  let node1: ManagedProcess;
  let node2: ManagedProcess;
  let registry: MediaNodeRegistry;
  const changes: MediaHealthChange[] = [];

  beforeAll(async () => {
    [node1, node2] = await Promise.all([
      startRtpengine({ id: 'it-fo-1', interfaceAddress: '127.0.8.11', ngPort: 2223, portMin: 46000, portMax: 46999, logFile: join(LOG_DIR, 'fo-1.log') }),
      startRtpengine({ id: 'it-fo-2', interfaceAddress: '127.0.8.12', ngPort: 2223, portMin: 47000, portMax: 47999, logFile: join(LOG_DIR, 'fo-2.log') }),
    ]);
    registry = new MediaNodeRegistry({
      region: 'it-region',
      nodes: [
        { id: 'media-1', address: '127.0.8.11', ngPort: 2223 },
        { id: 'media-2', address: '127.0.8.12', ngPort: 2223, capabilities: ['record'] },
      ],
    });
    registry.on('health', (c) => changes.push(c));
    registry.on('health', () => {
      throw new Error('a broken listener must not matter');
    });
    await registry.start();
  });

  afterAll(async () => {
    await registry.close();
    await Promise.all([node1.stop(), node2.stop()]);
  });

  it('sees both nodes healthy after start and balances calls by load', async () => {
    expect(registry.snapshot().map((s) => [s.id, s.healthy])).toEqual([['media-1', true], ['media-2', true]]);
    expect(registry.snapshot().every((s) => typeof s.lastPingRttMs === 'number')).toBe(true);
    const a = registry.acquire('call-a');
    const b = registry.acquire('call-b');
    expect([a.id, b.id].sort()).toEqual(['media-1', 'media-2']);
    // The node's engine really talks to that node.
    const sdp = await b.engine.offer('call-b', 'tag-b', audioSdp('127.0.8.50', 40400));
    expect(sdp).toMatch(new RegExp(`^c=IN IP4 ${b.address.replace(/\./g, '\\.')}`, 'm'));
    await b.engine.delete('call-b');
    registry.release('call-a');
    registry.release('call-b');
  });

  it('marks a SIGKILLed node unhealthy and avoids it within 2 s', async () => {
    const killedAt = Date.now();
    node2.kill('SIGKILL');
    expect(await node2.exited).toBeNull();
    const detected = await waitFor(() => !registry.isHealthy('media-2'), 2000, 10);
    const elapsed = Date.now() - killedAt;
    expect(detected).toBe(true);
    expect(elapsed).toBeLessThan(2000);
    expect(changes.find((c) => c.nodeId === 'media-2' && !c.healthy)).toBeDefined();
    for (let i = 0; i < 5; i++) expect(registry.acquire(`after-kill-${i}`).id).toBe('media-1');
    for (let i = 0; i < 5; i++) registry.release(`after-kill-${i}`);
    // Only media-2 had "record": that capability is now unavailable.
    expect(() => registry.chooseNode({ capability: 'record' })).toThrow(/no healthy media node with capability "record"/);
  });

  it('an ng command to the dead node rejects within its timeout', async () => {
    const client = new NgClient({ address: '127.0.8.12', port: 2223, timeoutMs: 300, retransmitMs: 100 });
    const started = Date.now();
    const e = await client.offer({ callId: 'dead', fromTag: 'x', sdp: audioSdp('127.0.8.50', 40500) }).then(() => undefined, (err: unknown) => err);
    expect(Date.now() - started).toBeLessThan(800);
    expect(e).toBeInstanceOf(MeshError);
    expect((e as MeshError).code).toBe('UPSTREAM_TIMEOUT');
    await client.close();
    // Through the registry's client the breaker opened after the failed pings: fail fast.
    const viaRegistry = registry.node('media-2');
    const t0 = Date.now();
    const e2 = await viaRegistry?.client.ping().then(() => undefined, (err: unknown) => err);
    expect(Date.now() - t0).toBeLessThan(1100);
    expect(['CIRCUIT_OPEN', 'UPSTREAM_TIMEOUT']).toContain((e2 as MeshError).code);
  });

  it('with every node stopped, chooseNode throws SERVICE_UNAVAILABLE quickly', async () => {
    const stoppedAt = Date.now();
    await node1.stop();
    expect(node1.isRunning()).toBe(false);
    const detected = await waitFor(() => !registry.isHealthy('media-1'), 2000, 10);
    expect(detected).toBe(true);
    const t0 = Date.now();
    let err: unknown;
    try {
      registry.acquire('no-node-call');
    } catch (e) {
      err = e;
    }
    expect(Date.now() - t0).toBeLessThan(50);
    expect(Date.now() - stoppedAt).toBeLessThan(2500);
    expect(err).toBeInstanceOf(MeshError);
    expect((err as MeshError).code).toBe('SERVICE_UNAVAILABLE');
    expect((err as MeshError).sipStatus).toBe(503);
    expect((err as MeshError).retryAfter).toBe(5);
    expect((err as MeshError).message).toContain('no healthy media node in region it-region');
  });

  it('takes a node back when its rtpengine returns', async () => {
    node1 = await startRtpengine({ id: 'it-fo-1b', interfaceAddress: '127.0.8.11', ngPort: 2223, portMin: 46000, portMax: 46999, logFile: join(LOG_DIR, 'fo-1.log') });
    expect(await waitFor(() => registry.isHealthy('media-1'), 2000, 10)).toBe(true);
    expect(registry.chooseNode().id).toBe('media-1');
    expect(changes.filter((c) => c.nodeId === 'media-1').map((c) => c.healthy)).toEqual([true, false, true]);
  });
});
