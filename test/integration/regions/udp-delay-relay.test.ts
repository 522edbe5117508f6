/**
 * UdpDelayRelay on real UDP sockets (127.0.11.10x): the one-way delay is added
 * in each direction (p50 within ±2 ms at 40 ms), order is kept (also when the
 * delay is lowered), a cut link drops, the queue is bounded, close() is idempotent.
 */
import dgram from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { UdpDelayRelay } from '../../../regions/link/udp-delay-relay.js';
import { isMeshError } from '../../../regions/core/errors.js';

const NEAR_HOST = '127.0.11.101';
const RELAY_HOST = '127.0.11.102';
const TARGET_HOST = '127.0.11.103';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

interface Endpoint {
  socket: dgram.Socket;
  port: number;
  /** seq → arrival time (performance.now()), plus arrival order. */
  arrivals: Map<number, number>;
  order: number[];
  sources: string[];
}

async function endpoint(host: string): Promise<Endpoint> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((r) => socket.bind(0, host, r));
  const e: Endpoint = { socket, port: socket.address().port, arrivals: new Map(), order: [], sources: [] };
  socket.on('message', (m, rinfo) => {
    const seq = m.readUInt32BE(0);
    e.arrivals.set(seq, performance.now());
    e.order.push(seq);
    e.sources.push(`${rinfo.address}:${rinfo.port}`);
  });
  cleanups.push(() => new Promise<void>((r) => socket.close(() => r())));
  return e;
}

function datagram(seq: number, size = 172): Buffer {
  const b = Buffer.alloc(size);
  b.writeUInt32BE(seq, 0);
  return b;
}

async function relayBetween(near: Endpoint, target: Endpoint, delayMs: number, extra: { maxQueuedPackets?: number } = {}) {
  const relay = new UdpDelayRelay({ listenHost: RELAY_HOST, targetHost: TARGET_HOST, targetPort: target.port, delayMs, ...extra });
  cleanups.push(() => relay.close());
  const ends = await relay.start();
  return { relay, ends };
}

/** Send `count` datagrams every `gapMs`, recording send times. */
async function paced(from: Endpoint, to: { address: string; port: number }, count: number, gapMs: number, first = 0): Promise<Map<number, number>> {
  const sent = new Map<number, number>();
  for (let i = 0; i < count; i++) {
    const seq = first + i;
    sent.set(seq, performance.now());
    from.socket.send(datagram(seq), to.port, to.address);
    if (gapMs > 0) await sleep(gapMs);
  }
  return sent;
}

describe('UdpDelayRelay', () => {
  it('adds the one-way delay near → target (p50 within ±2 ms of 40 ms) and keeps order', async () => {
    const near = await endpoint(NEAR_HOST);
    const target = await endpoint(TARGET_HOST);
    const { ends } = await relayBetween(near, target, 40);
    const sent = await paced(near, ends.listen, 100, 5);
    await sleep(150);
    expect(target.arrivals.size).toBe(100);
    const delays = [...sent].map(([seq, t]) => (target.arrivals.get(seq) ?? NaN) - t);
    expect(Math.abs(median(delays) - 40)).toBeLessThanOrEqual(2);
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(39);
    expect(target.order).toEqual([...Array(100).keys()]);
    // The target sees the relay's upstream socket as the source.
    expect(new Set(target.sources)).toEqual(new Set([`${ends.upstream.address}:${ends.upstream.port}`]));
  });

  it('delays target → near back to the learnt near peer, and drops strangers', async () => {
    const near = await endpoint(NEAR_HOST);
    const target = await endpoint(TARGET_HOST);
    const stranger = await endpoint(TARGET_HOST);
    const { relay, ends } = await relayBetween(near, target, 40);
    near.socket.send(datagram(9999), ends.listen.port, ends.listen.address); // teaches the relay the near peer
    await sleep(60);
    const sent = await paced(target, ends.upstream, 50, 5);
    stranger.socket.send(datagram(5000), ends.upstream.port, ends.upstream.address);
    await sleep(150);
    expect(near.order).toEqual([...Array(50).keys()]);
    const delays = [...sent].map(([seq, t]) => (near.arrivals.get(seq) ?? NaN) - t);
    expect(Math.abs(median(delays) - 40)).toBeLessThanOrEqual(2);
    expect(new Set(near.sources)).toEqual(new Set([`${ends.listen.address}:${ends.listen.port}`]));
    // The upstream socket is connected to the target: the kernel never hands us the stranger's datagram.
    expect(near.arrivals.has(5000)).toBe(false);
    expect(relay.stats().forwarded.toNear).toBe(50);
  });

  it('never reorders when the delay is lowered mid-stream, and applies the new delay', async () => {
    const near = await endpoint(NEAR_HOST);
    const target = await endpoint(TARGET_HOST);
    const { relay, ends } = await relayBetween(near, target, 60);
    await paced(near, ends.listen, 20, 1);
    relay.setDelay(5);
    await paced(near, ends.listen, 20, 1, 20);
    await sleep(100);
    expect(target.order).toEqual([...Array(40).keys()]);
    const later = await paced(near, ends.listen, 10, 3, 100);
    await sleep(40);
    const delays = [...later].map(([seq, t]) => (target.arrivals.get(seq) ?? NaN) - t);
    // The new delay applies: never shorter than 5 ms, and nowhere near the old 60 ms. Timers only fire
    // late, by a few ms on a machine busy with other work, so the upper bound is loose.
    expect(median(delays)).toBeGreaterThanOrEqual(4);
    expect(median(delays)).toBeLessThan(15);
  });

  it('drops everything while blocked (including what was queued) and relays again once restored', async () => {
    const near = await endpoint(NEAR_HOST);
    const target = await endpoint(TARGET_HOST);
    const { relay, ends } = await relayBetween(near, target, 30);
    await paced(near, ends.listen, 5, 0);
    await sleep(10);
    expect(relay.stats().queued.toTarget).toBe(5);
    relay.setBlocked(true);
    expect(relay.stats().queued.toTarget).toBe(0);
    await paced(near, ends.listen, 5, 0, 5);
    await sleep(60);
    expect(target.arrivals.size).toBe(0);
    expect(relay.stats().dropped.blocked).toBe(5);
    relay.setBlocked(false);
    await paced(near, ends.listen, 5, 0, 10);
    await sleep(60);
    expect(target.order).toEqual([10, 11, 12, 13, 14]);
  });

  it('bounds the queue per direction and drops oversize datagrams', async () => {
    const near = await endpoint(NEAR_HOST);
    const target = await endpoint(TARGET_HOST);
    const { relay, ends } = await relayBetween(near, target, 50, { maxQueuedPackets: 10 });
    await paced(near, ends.listen, 30, 0);
    near.socket.send(Buffer.alloc(4000), ends.listen.port, ends.listen.address);
    await sleep(20);
    expect(relay.stats().queued.toTarget).toBe(10);
    await sleep(80);
    expect(target.order).toEqual([...Array(10).keys()]);
    expect(relay.stats().dropped).toMatchObject({ queueFull: 20, tooLarge: 1 });
  });

  it('rejects bad options, and close() is idempotent', async () => {
    expect(() => new UdpDelayRelay({ listenHost: RELAY_HOST, targetHost: 'example.com', targetPort: 1, delayMs: 1 })).toThrow(/IPv4/);
    expect(() => new UdpDelayRelay({ listenHost: RELAY_HOST, targetHost: TARGET_HOST, targetPort: 1, delayMs: -1 })).toThrow(/delayMs/);
    const relay = new UdpDelayRelay({ listenHost: RELAY_HOST, targetHost: TARGET_HOST, targetPort: 9, delayMs: 1 });
    await relay.start();
    await Promise.all([relay.close(), relay.close()]);
    await relay.close();
    await expect(relay.start()).rejects.toSatisfy((e: unknown) => isMeshError(e, 'CLOSED'));
  });
});
