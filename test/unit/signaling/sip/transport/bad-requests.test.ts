/**
 * Malformed requests the transport answers statelessly (RFC 3261 §8.2.6,
 * RFC 4475 §3.1.2, §3.3.1) and what it counts for /metrics: drops by reason,
 * rejections by status, oversized messages. Real loopback sockets
 * (127.0.6.3 = layer, 127.0.6.4 = raw peer), as transport-layer.test.ts.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { SipLimits } from '../../../../../signaling/sip/message/types.js';
import { DEFAULT_SIP_LIMITS } from '../../../../../signaling/sip/message/types.js';
import { DROP_REASONS, SipTransportLayer } from '../../../../../signaling/sip/transport/transport-layer.js';

const LOCAL = '127.0.6.3';
const PEER = '127.0.6.4';

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0)) await c();
});

const until = async (cond: () => boolean, ms = 2000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
};

async function start(limits?: SipLimits) {
  const layer = await SipTransportLayer.start({ address: LOCAL, port: 0, ...(limits ? { limits } : {}) });
  cleanup.push(() => layer.close());
  const requests: string[] = [];
  layer.setListener({ onRequest: (req) => requests.push(req.method), onResponse: () => undefined });
  return { layer, requests };
}

async function udpPeer(): Promise<{ sock: UdpSocket; port: number; got: string[] }> {
  const sock = createSocket('udp4');
  const got: string[] = [];
  sock.on('message', (b) => got.push(b.toString('latin1')));
  await new Promise<void>((r) => sock.bind(0, PEER, () => r()));
  cleanup.push(() => sock.close());
  return { sock, port: sock.address().port, got };
}

/** Lines joined with CRLF plus the empty line; `via` is the raw Via value. */
function message(requestLine: string, headers: string[]): string {
  return [requestLine, ...headers, 'Content-Length: 0', '', ''].join('\r\n');
}

const fullHeaders = (via: string, callId: string): string[] => [
  `Via: ${via}`,
  'Max-Forwards: 70',
  `From: <sip:a@${PEER}>;tag=f1`,
  `To: <sip:x@${LOCAL}>`,
  `Call-ID: ${callId}`,
  'CSeq: 1 OPTIONS',
];

describe('stateless 400s the RFC asks for instead of silence', () => {
  it('a malformed Request-Line with intact headers gets 400 by its Via (RFC 4475 §3.1.2.8–10: lwsruri, lwsstart, trws)', async () => {
    const { layer, requests } = await start();
    const p = await udpPeer();
    const via = `SIP/2.0/UDP ${PEER}:${p.port};branch=z9hG4bKrl`;
    const lines = [`OPTIONS sip:x@${LOCAL}; lr SIP/2.0`, `OPTIONS  sip:x@${LOCAL}  SIP/2.0`, `OPTIONS sip:x@${LOCAL} SIP/2.0  `];
    lines.forEach((l, i) => p.sock.send(message(l, fullHeaders(via, `rl-${i}`)), layer.port, LOCAL));
    await until(() => p.got.length === 3);
    for (const r of p.got) expect(r).toMatch(/^SIP\/2\.0 400 Malformed Request-Line\r\n/);
    expect(p.got.map((r) => /Call-ID: (\S+)/.exec(r)?.[1]).sort()).toEqual(['rl-0', 'rl-1', 'rl-2']);
    expect(requests).toEqual([]);
    expect(layer.counters.rejected).toEqual({ '400': 3 });
  });

  it('a Via that cannot be parsed: the 400 goes to the packet source, echoing the Via (RFC 4475 §3.1.2.1 badinv01)', async () => {
    const { layer } = await start();
    const p = await udpPeer();
    // The sent-by (192.0.2.15:5060) is unreachable: only the source address can get an answer.
    p.sock.send(message(`INVITE sip:x@${LOCAL} SIP/2.0`, [...fullHeaders('SIP/2.0/UDP 192.0.2.15;;,;,,', 'badinv').slice(0, 5), 'CSeq: 8 INVITE']), layer.port, LOCAL);
    await until(() => p.got.length === 1);
    expect(p.got[0]).toMatch(/^SIP\/2\.0 400 /);
    expect(p.got[0]).toContain('\r\nVia: SIP/2.0/UDP 192.0.2.15;;,;,,\r\n');
    expect(p.got[0]).toContain('\r\nCall-ID: badinv\r\n');
    expect(layer.counters.dropped).toBe(0);
  });

  it('no Call-ID, From or To: 400 with the Via and CSeq (RFC 4475 §3.3.1 insuf)', async () => {
    const { layer } = await start();
    const p = await udpPeer();
    p.sock.send(message(`INVITE sip:x@${LOCAL} SIP/2.0`, ['CSeq: 193942 INVITE', `Via: SIP/2.0/UDP ${PEER}:${p.port};branch=z9hG4bKkdj.insuf`]), layer.port, LOCAL);
    await until(() => p.got.length === 1);
    expect(p.got[0]).toMatch(/^SIP\/2\.0 400 Missing From header\r\n/);
    expect(p.got[0]).toContain('branch=z9hG4bKkdj.insuf');
    expect(p.got[0]).toContain('\r\nCSeq: 193942 INVITE\r\n');
    expect(layer.counters.badRequests).toBe(1);
  });

  it('stays silent where it must: a malformed ACK, a request without any Via (counted by reason)', async () => {
    const { layer } = await start();
    const p = await udpPeer();
    const via = `SIP/2.0/UDP ${PEER}:${p.port};branch=z9hG4bKack`;
    p.sock.send(message(`ACK  sip:x@${LOCAL} SIP/2.0`, fullHeaders(via, 'ack').map((h) => h.replace('OPTIONS', 'ACK'))), layer.port, LOCAL);
    p.sock.send(message(`OPTIONS  sip:x@${LOCAL} SIP/2.0`, fullHeaders(via, 'novia').slice(1)), layer.port, LOCAL);
    await until(() => layer.counters.dropped === 2);
    expect(p.got).toEqual([]);
    expect(layer.counters.droppedByReason.unparseable).toBe(2);
  });
});

describe('transport counters for /metrics', () => {
  it('drops by a closed set of reasons, rejections by status, oversized messages on UDP and TCP', async () => {
    const limits = { ...DEFAULT_SIP_LIMITS, maxMessageBytes: 2000 };
    const { layer } = await start(limits);
    expect(Object.keys(layer.counters.droppedByReason).sort()).toEqual([...DROP_REASONS].sort());
    const p = await udpPeer();
    const via = `SIP/2.0/UDP ${PEER}:${p.port};branch=z9hG4bKc`;
    // 505 (RFC 4475 §3.1.2.16) and 400: rejected by status.
    p.sock.send(message(`OPTIONS sip:x@${LOCAL} SIP/7.0`, fullHeaders(via, 'v7')), layer.port, LOCAL);
    p.sock.send(message(`OPTIONS sip:x@${LOCAL} SIP/2.0`, [...fullHeaders(via, 'mf'), 'Max-Forwards: x']), layer.port, LOCAL);
    // A response that is not ours (§18.1.2) and an oversized datagram.
    p.sock.send(`SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.6.99:5060;branch=z9hG4bKr\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:b@y>;tag=2\r\nCall-ID: r\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n`, layer.port, LOCAL);
    p.sock.send(message(`OPTIONS sip:x@${LOCAL} SIP/2.0`, [...fullHeaders(via, 'big'), `X-Pad: ${'p'.repeat(3000)}`]), layer.port, LOCAL);
    await until(() => p.got.length === 2 && layer.counters.dropped === 2);
    expect(layer.counters.rejected).toEqual({ '400': 1, '505': 1 });
    expect(layer.counters.droppedByReason['not-our-response']).toBe(1);
    expect(layer.counters.droppedByReason.unparseable).toBe(1);
    expect(layer.counters.oversized).toBe(1);

    // Over TCP the framer refuses the oversized message and the connection is closed.
    const sock = connect({ host: LOCAL, port: layer.port, localAddress: PEER });
    sock.on('error', () => undefined);
    cleanup.push(() => sock.destroy());
    await new Promise<void>((r) => sock.once('connect', () => r()));
    sock.write(`OPTIONS sip:x@${LOCAL} SIP/2.0\r\nContent-Length: 5000\r\n\r\n${'b'.repeat(5000)}`);
    await until(() => layer.counters.oversized === 2);
    expect(layer.counters.droppedByReason.framing).toBe(1);
    expect(layer.counters.dropped).toBe(3);
  });
});
