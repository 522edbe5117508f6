/**
 * The relays `make start` puts between regions, started from a link plan
 * (infra/link-relays.ts), on 127.0.15.0/24 and 127.0.16.0/24: what they admit
 * (only the sending region's signaling node may use a SIP relay, because the
 * far side trusts the relay's source as that node), that they never deliver
 * before the delay, that a zero delay forwards at once, and that a start
 * which cannot bind every relay leaves none behind.
 */
import dgram from 'node:dgram';
import { connect, createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { planLinkRelays, type LinkRelayPlan } from '../../../infra/link-delays.js';
import { startLinkRelays, type RunningLinkRelays } from '../../../infra/link-relays.js';
import { isMeshError } from '../../../regions/core/errors.js';
import { parseRegionCatalog } from '../../../regions/catalog.js';
import { DelayRelay } from '../../../regions/link/delay-relay.js';
import { UdpDelayRelay } from '../../../regions/link/udp-delay-relay.js';
import { waitUntil } from '../../support/wait.js';

const A = 'eu-west';
const B = 'us-east';
/** Signaling nodes of the two regions (plain UDP sockets here), on port 5062 so nothing else's 5060 is in the way. */
const A_SIG = { address: '127.0.15.1', port: 5062 };
const B_SIG = { address: '127.0.16.1', port: 5062 };
const B_CENTRAL = { address: '127.0.16.20', port: 8091 };

function plan(delayMs: number): LinkRelayPlan {
  const region = (id: string, o: number, sig: { port: number }, central: { port: number }): unknown => ({
    id,
    subnet: `127.0.${o}.0/24`,
    signaling: { address: `127.0.${o}.1`, port: sig.port },
    mediaNodes: [{ id: `it-ldr-${id}-1`, address: `127.0.${o}.11`, rtpPortMin: 41000, rtpPortMax: 41999 }],
    centralMedia: { address: `127.0.${o}.20`, port: central.port },
  });
  return planLinkRelays(
    parseRegionCatalog({
      regions: [region(A, 15, A_SIG, { port: 8091 }), region(B, 16, B_SIG, B_CENTRAL)],
      links: { [A]: { [B]: delayMs }, [B]: { [A]: delayMs } },
    }),
  );
}

async function udpSocket(address: string, port: number): Promise<{ socket: dgram.Socket; got: { at: number; text: string; from: string }[] }> {
  const socket = dgram.createSocket('udp4');
  const got: { at: number; text: string; from: string }[] = [];
  socket.on('message', (m, r) => got.push({ at: performance.now(), text: m.toString(), from: `${r.address}:${r.port}` }));
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, address, () => resolve());
  });
  return { socket, got };
}

const send = (s: dgram.Socket, text: string, to: { address: string; port: number }): Promise<void> =>
  new Promise((resolve, reject) => s.send(text, to.port, to.address, (e) => (e ? reject(e) : resolve())));

describe('link relays from a plan', () => {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  const sipRelay = (running: RunningLinkRelays, from: string): UdpDelayRelay => {
    const r = running.relays.find((x) => x.spec.kind === 'sip' && x.spec.protocol === 'udp' && x.spec.from === from)?.relay;
    if (!(r instanceof UdpDelayRelay)) throw new Error('no UDP SIP relay');
    return r;
  };

  it('delays SIP both ways by at least the delay, and B sees A at the address B has for it', async () => {
    const running = await startLinkRelays(plan(30));
    cleanups.push(() => running.close());
    const a = await udpSocket(A_SIG.address, A_SIG.port);
    const b = await udpSocket(B_SIG.address, B_SIG.port);
    cleanups.push(() => a.socket.close(), () => b.socket.close());

    const sentAt = performance.now();
    await send(a.socket, 'OPTIONS from A', { address: '127.0.15.101', port: B_SIG.port });
    await waitUntil(() => b.got.length === 1, 2000, 'B received');
    const arrived = b.got[0]!;
    expect(arrived.text).toBe('OPTIONS from A');
    expect(arrived.at - sentAt).toBeGreaterThanOrEqual(30);
    // The source is B's view of A (in B's subnet): the address B's mesh peer entry for A names.
    expect(arrived.from.startsWith('127.0.16.100:')).toBe(true);

    // B answers to where it came from (RFC 3261 §18.2.2 with rport): back through the same relay, delayed again.
    const [host, port] = arrived.from.split(':');
    const answeredAt = performance.now();
    await send(b.socket, '200 from B', { address: host!, port: Number(port) });
    await waitUntil(() => a.got.length === 1, 2000, 'A received the answer');
    expect(a.got[0]!.text).toBe('200 from B');
    expect(a.got[0]!.at - answeredAt).toBeGreaterThanOrEqual(30);
    expect(a.got[0]!.from).toBe(`127.0.15.101:${B_SIG.port}`);

    // B's own request to A goes to B's entry for A and arrives at A from A's view of B.
    await send(b.socket, 'BYE from B', { address: '127.0.16.100', port: A_SIG.port });
    await waitUntil(() => a.got.length === 2, 2000, 'A received B\'s request');
    expect(a.got[1]!.from.startsWith('127.0.15.101:')).toBe(true);
  });

  it('admits only the sending region\'s signaling node to a SIP relay', async () => {
    const running = await startLinkRelays(plan(0));
    cleanups.push(() => running.close());
    const b = await udpSocket(B_SIG.address, B_SIG.port);
    const stranger = await udpSocket('127.0.15.9', A_SIG.port);
    cleanups.push(() => b.socket.close(), () => stranger.socket.close());
    await send(stranger.socket, 'INVITE pretending to be eu-west', { address: '127.0.15.101', port: B_SIG.port });
    await waitUntil(() => sipRelay(running, A).stats().dropped.strangers === 1, 2000, 'stranger dropped');
    expect(b.got).toHaveLength(0);

    // Over TCP too: a connection from another address is refused.
    const tcp = running.relays.find((x) => x.spec.kind === 'sip' && x.spec.protocol === 'tcp' && x.spec.from === A)!.relay as DelayRelay;
    const sock = connect({ host: '127.0.15.101', port: B_SIG.port, localAddress: '127.0.15.9' });
    sock.on('error', () => undefined);
    await waitUntil(() => tcp.refused === 1, 2000, 'TCP stranger refused');
    sock.destroy();
  });

  it('forwards at once at delay 0', async () => {
    const running = await startLinkRelays(plan(0));
    cleanups.push(() => running.close());
    const a = await udpSocket(A_SIG.address, A_SIG.port);
    const b = await udpSocket(B_SIG.address, B_SIG.port);
    cleanups.push(() => a.socket.close(), () => b.socket.close());
    const gaps: number[] = [];
    for (let i = 0; i < 20; i++) {
      const t = performance.now();
      await send(a.socket, `m${i}`, { address: '127.0.15.101', port: B_SIG.port });
      await waitUntil(() => b.got.length === i + 1, 2000, `datagram ${i}`, 1);
      gaps.push(b.got[i]!.at - t);
    }
    gaps.sort((x, y) => x - y);
    // No timer tick in the way: well under a millisecond for most datagrams on loopback.
    expect(gaps[10]).toBeLessThan(1);
  });

  it('carries a region link (TCP) to the central media service, delayed each way', async () => {
    const running = await startLinkRelays(plan(25));
    cleanups.push(() => running.close());
    let peer: string | undefined;
    const central: Server = createServer((s) => {
      peer = s.remoteAddress;
      s.on('data', (d) => s.write(d));
    });
    await new Promise<void>((resolve) => central.listen(B_CENTRAL.port, B_CENTRAL.address, () => resolve()));
    cleanups.push(() => new Promise((r) => central.close(() => r(undefined))));
    const client = connect({ host: '127.0.15.101', port: B_CENTRAL.port });
    cleanups.push(() => client.destroy());
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
    });
    const t = performance.now();
    client.write('ping');
    const echoed = await new Promise<string>((resolve) => client.once('data', (d) => resolve(d.toString())));
    expect(echoed).toBe('ping');
    expect(performance.now() - t).toBeGreaterThanOrEqual(50);
    expect(peer).toBe('127.0.16.100');
  });

  it('starts all relays or none: a taken endpoint fails the start, naming the relay', async () => {
    const squatter = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => squatter.bind(B_SIG.port, '127.0.16.100', () => resolve()));
    cleanups.push(() => new Promise((r) => squatter.close(() => r(undefined))));
    const p = plan(10);
    const err = await startLinkRelays(p).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isMeshError(err, 'TRANSPORT_ERROR')).toBe(true);
    expect((err as Error).message).toMatch(/sip udp relay us-east→eu-west on 127\.0\.16\.100:5062/);
    // Everything that came up before the failure was closed: the eu-west → us-east entry is free again.
    const probe = dgram.createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject);
      probe.bind(B_SIG.port, '127.0.15.101', () => resolve());
    });
    await new Promise((r) => probe.close(() => r(undefined)));
  });
});
