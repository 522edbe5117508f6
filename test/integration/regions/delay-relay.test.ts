/**
 * DelayRelay on real TCP (127.0.9.x): the configured one-way delay is added in
 * each direction (p50 within ±5 ms), byte order is kept, a link cut drops and
 * refuses connections, and a region link through the relay sees twice the
 * delay as its request round trip.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { RegionLinkClient } from '../../../regions/link/client.js';
import { DelayRelay } from '../../../regions/link/delay-relay.js';
import { RegionLinkServer } from '../../../regions/link/server.js';
import { sleep, waitFor } from './helpers.js';

const TARGET_HOST = '127.0.9.3';
const RELAY_HOST = '127.0.9.4';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const p50 = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
};

/** A target that timestamps each 8-byte message (a sequence number) it receives, and can send its own. */
async function timestampingServer(): Promise<{ server: Server; port: number; arrivals: Map<number, number>; peer: () => Socket | undefined }> {
  const arrivals = new Map<number, number>();
  let last: Socket | undefined;
  const server = createServer((s) => {
    last = s;
    s.setNoDelay(true);
    let buf = Buffer.alloc(0);
    s.on('data', (d: Buffer) => {
      const now = performance.now();
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 8) {
        arrivals.set(Number(buf.readBigUInt64BE(0)), now);
        buf = buf.subarray(8);
      }
    });
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, TARGET_HOST, r));
  cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
  cleanups.push(() => void last?.destroy());
  return { server, port: (server.address() as { port: number }).port, arrivals, peer: () => last };
}

async function relayTo(port: number, delayMs: number): Promise<{ relay: DelayRelay; port: number }> {
  const relay = new DelayRelay({ listenHost: RELAY_HOST, listenPort: 0, targetHost: TARGET_HOST, targetPort: port, delayMs });
  cleanups.push(() => relay.close());
  return { relay, port: (await relay.listen()).port };
}

function seqMessage(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
}

describe('DelayRelay', () => {
  it('adds the configured one-way delay in each direction (p50 within ±5 ms) and keeps order', async () => {
    const target = await timestampingServer();
    const { port } = await relayTo(target.port, 40);
    const client = connect({ host: RELAY_HOST, port, localAddress: '127.0.9.5' });
    client.setNoDelay(true);
    cleanups.push(() => void client.destroy());
    await new Promise<void>((r) => client.once('connect', () => r()));

    // client → target
    const sentAt = new Map<number, number>();
    for (let i = 0; i < 40; i++) {
      sentAt.set(i, performance.now());
      client.write(seqMessage(i));
      await sleep(5);
    }
    await waitFor(() => target.arrivals.size === 40, 3000, 'all forward messages');
    const forward = [...sentAt].map(([i, t]) => (target.arrivals.get(i) ?? NaN) - t);
    expect(Math.abs(p50(forward) - 40)).toBeLessThanOrEqual(5);
    expect(Math.min(...forward)).toBeGreaterThanOrEqual(39);
    const order = [...target.arrivals.entries()].sort((a, b) => a[1] - b[1]).map(([i]) => i);
    expect(order).toEqual(Array.from({ length: 40 }, (_, i) => i));

    // target → client
    const back = new Map<number, number>();
    let buf = Buffer.alloc(0);
    client.on('data', (d: Buffer) => {
      const now = performance.now();
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 8) {
        back.set(Number(buf.readBigUInt64BE(0)), now);
        buf = buf.subarray(8);
      }
    });
    const peer = target.peer();
    expect(peer).toBeDefined();
    const backSentAt = new Map<number, number>();
    for (let i = 0; i < 40; i++) {
      backSentAt.set(i, performance.now());
      peer?.write(seqMessage(i));
      await sleep(5);
    }
    await waitFor(() => back.size === 40, 3000, 'all reverse messages');
    const reverse = [...backSentAt].map(([i, t]) => (back.get(i) ?? NaN) - t);
    expect(Math.abs(p50(reverse) - 40)).toBeLessThanOrEqual(5);
  });

  it('keeps a bulk stream intact and in order', async () => {
    const received: Buffer[] = [];
    const server = createServer((s) => s.on('data', (d: Buffer) => received.push(d)));
    await new Promise<void>((r) => server.listen(0, TARGET_HOST, r));
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
    const { port } = await relayTo((server.address() as { port: number }).port, 5);
    const data = Buffer.alloc(2 * 1024 * 1024);
    for (let i = 0; i < data.length; i++) data[i] = (i * 31) & 0xff;
    const c = connect({ host: RELAY_HOST, port });
    cleanups.push(() => void c.destroy());
    await new Promise<void>((r) => c.once('connect', () => r()));
    c.end(data);
    await waitFor(() => received.reduce((n, b) => n + b.length, 0) === data.length, 10_000, 'bulk data');
    expect(Buffer.concat(received).equals(data)).toBe(true);
  });

  it('a region link through the relay sees the delay twice per request, and a cut drops it until restored', async () => {
    const server = new RegionLinkServer({
      host: TARGET_HOST,
      port: 0,
      region: 'us-east',
      nodeId: 'us-east-sig-1',
      heartbeatIntervalMs: 100,
      deadPeerTimeoutMs: 600,
      onRequest: () => ({ type: 'placementDecision', value: { kind: 'LOCAL' } }),
    });
    cleanups.push(() => server.close());
    const target = await server.listen();
    const { relay, port } = await relayTo(target.port, 20);
    const c = new RegionLinkClient({
      host: RELAY_HOST,
      port,
      region: 'eu-west',
      nodeId: 'eu-west-sig-1',
      heartbeatIntervalMs: 100,
      deadPeerTimeoutMs: 600,
      backoff: { initialMs: 50, maxMs: 200 },
    });
    cleanups.push(() => c.close());
    c.start();
    await c.waitConnected(3000);
    const rtts: number[] = [];
    for (let i = 0; i < 15; i++) {
      const t0 = performance.now();
      await c.request({ type: 'placementRequest', value: { callSid: `CA${i}` } }, { timeoutMs: 2000 });
      rtts.push(performance.now() - t0);
    }
    expect(Math.abs(p50(rtts) - 40)).toBeLessThanOrEqual(5);

    relay.setBlocked(true);
    await waitFor(() => !c.isConnected, 2000, 'link cut noticed');
    await sleep(300);
    expect(c.isConnected).toBe(false); // reconnects are refused while cut
    relay.setBlocked(false);
    await c.waitConnected(3000);
    await expect(c.request({ type: 'placementRequest', value: {} }, { timeoutMs: 2000 })).resolves.toMatchObject({ type: 'placementDecision' });
  });
});
