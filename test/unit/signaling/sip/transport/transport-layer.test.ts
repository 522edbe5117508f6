/**
 * SipTransportLayer over real loopback sockets (127.0.6.3 = layer, 127.0.6.4 = raw peer).
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createResponse, parseSipMessage, parseVia } from '../../../../../signaling/sip/message/index.js';
import type { Endpoint, SipRequest, SipResponse } from '../../../../../signaling/sip/message/types.js';
import { SipTransportLayer } from '../../../../../signaling/sip/transport/transport-layer.js';
import type { TcpOptions } from '../../../../../signaling/sip/transport/tcp-connections.js';

const LOCAL = '127.0.6.3';
const PEER = '127.0.6.4';

function options(viaHost: string, viaPort: number | string, extra = '', method = 'OPTIONS', transport = 'UDP'): string {
  return (
    `${method} sip:x@${LOCAL} SIP/2.0\r\n` +
    `Via: SIP/2.0/${transport} ${viaHost}:${viaPort};branch=z9hG4bK${Math.random().toString(36).slice(2)};rport\r\n` +
    `Max-Forwards: 70\r\nFrom: <sip:a@${PEER}>;tag=f1\r\nTo: <sip:x@${LOCAL}>\r\nCall-ID: c-${Math.random()}\r\n` +
    `CSeq: 1 ${method}\r\n${extra}Content-Length: 0\r\n\r\n`
  );
}

const until = async (cond: () => boolean, ms = 2000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
};

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0)) await c();
});

async function start(tcp?: TcpOptions) {
  const layer = await SipTransportLayer.start({ address: LOCAL, port: 0, ...(tcp ? { tcp } : {}) });
  cleanup.push(() => layer.close());
  const requests: { req: SipRequest; source: Endpoint }[] = [];
  const responses: SipResponse[] = [];
  layer.setListener({
    onRequest: (req, source) => requests.push({ req, source }),
    onResponse: (res) => responses.push(res),
  });
  return { layer, requests, responses };
}

async function udpPeer(): Promise<{ sock: UdpSocket; port: number; got: Buffer[] }> {
  const sock = createSocket('udp4');
  const got: Buffer[] = [];
  sock.on('message', (b) => got.push(b));
  await new Promise<void>((r) => sock.bind(0, PEER, () => r()));
  cleanup.push(() => sock.close());
  return { sock, port: sock.address().port, got };
}

describe('SipTransportLayer over UDP', () => {
  it('binds UDP and TCP on the same port and stamps received/rport on requests', async () => {
    const { layer, requests } = await start();
    expect(layer.localEndpoint('TCP').port).toBe(layer.port);
    const p = await udpPeer();
    p.sock.send(options('10.9.9.9', 5060), layer.port, LOCAL);
    await until(() => requests.length === 1);
    const via = parseVia(requests[0]!.req.headers.getList('Via')[0]!);
    expect(via.params.get('received')).toBe(PEER);
    expect(via.params.get('rport')).toBe(String(p.port));
    expect(requests[0]!.source).toEqual({ transport: 'UDP', address: PEER, port: p.port });
    // The response follows received + rport, not the (unreachable) sent-by.
    layer.sendResponse(createResponse(requests[0]!.req, 200, undefined, { toTag: 't' }), requests[0]!.source);
    await until(() => p.got.length === 1);
    expect((parseSipMessage(p.got[0]!) as SipResponse).status).toBe(200);
    expect(layer.counters.received).toBe(1);
    expect(layer.counters.sent).toBe(1);
  });

  it('answers a malformed but answerable request with 400 and its reason phrase, drops garbage, keeps serving', async () => {
    const { layer, requests } = await start();
    const p = await udpPeer();
    const bad = options(PEER, p.port).replace('Max-Forwards: 70', 'Max-Forwards: abc');
    let expectedReason = '';
    try {
      parseSipMessage(Buffer.from(bad));
    } catch (e) {
      expectedReason = (e as { reason: string }).reason;
    }
    expect(expectedReason).not.toBe('');
    p.sock.send(bad, layer.port, LOCAL);
    await until(() => p.got.length === 1);
    const res = parseSipMessage(p.got[0]!) as SipResponse;
    expect(res.status).toBe(400);
    expect(res.reason).toBe(expectedReason);
    p.sock.send(Buffer.from('\x00\x01garbage\r\n\r\n'), layer.port, LOCAL);
    p.sock.send(Buffer.from('\r\n\r\n'), layer.port, LOCAL); // keep-alive: ignored, not counted
    p.sock.send(options(PEER, p.port), layer.port, LOCAL);
    await until(() => requests.length === 1);
    expect(layer.counters.badRequests).toBe(1);
    expect(layer.counters.dropped).toBe(1);
    expect(layer.counters.received).toBe(3);
  });

  it('drops responses whose top Via is not ours (§18.1.2) and unparseable responses', async () => {
    const { layer, responses } = await start();
    const p = await udpPeer();
    const mk = (host: string, port: number) =>
      `SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP ${host}:${port};branch=z9hG4bKr1\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:b@y>;tag=2\r\nCall-ID: r1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n`;
    p.sock.send(mk('127.0.6.99', layer.port), layer.port, LOCAL);
    p.sock.send('SIP/2.0 200 OK\r\nVia: nonsense\r\n\r\n', layer.port, LOCAL);
    p.sock.send(mk(LOCAL, layer.port), layer.port, LOCAL);
    await until(() => responses.length === 1);
    await until(() => layer.counters.dropped === 2);
  });

  it('reports send failures instead of throwing, and refuses to send after close()', async () => {
    const { layer } = await start();
    const errors: Error[] = [];
    layer.sendRequest(parseSipMessage(Buffer.from(options(LOCAL, layer.port))) as SipRequest, { transport: 'UDP', address: PEER, port: 70000 }, (e) =>
      errors.push(e),
    );
    expect(errors).toHaveLength(1);
    await layer.close();
    await layer.close();
    layer.sendRequest(parseSipMessage(Buffer.from(options(LOCAL, layer.port))) as SipRequest, { transport: 'UDP', address: PEER, port: 5060 }, (e) =>
      errors.push(e),
    );
    expect(errors).toHaveLength(2);
  });
});

function tcpClient(port: number): Promise<{ sock: Socket; data: () => string }> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const sock = connect({ host: LOCAL, port, localAddress: PEER }, () => resolve({ sock, data: () => buf }));
    sock.on('data', (d) => (buf += d.toString()));
    sock.on('error', reject);
    cleanup.push(() => sock.destroy());
  });
}

describe('SipTransportLayer over TCP', () => {
  it('frames several messages in one chunk and answers on the same connection', async () => {
    const { layer, requests } = await start();
    const c = await tcpClient(layer.port);
    c.sock.write(options(PEER, 5060, '', 'OPTIONS', 'TCP') + options(PEER, 5060, '', 'INFO', 'TCP'));
    await until(() => requests.length === 2);
    expect(requests.map((r) => r.req.method)).toEqual(['OPTIONS', 'INFO']);
    expect(requests[0]!.source.transport).toBe('TCP');
    expect(layer.counters.tcpConnections).toBe(1);
    // The Via says port 5060 (where nothing listens): the response must still use the connection.
    layer.sendResponse(createResponse(requests[0]!.req, 200, undefined, { toTag: 't' }), requests[0]!.source);
    await until(() => c.data().includes('SIP/2.0 200 OK'));
  });

  it('delivers each message at once when a short one follows a longer one in a separate chunk', async () => {
    const { layer, requests } = await start();
    const c = await tcpClient(layer.port);
    c.sock.write(options(PEER, 5060, `X-Pad: ${'p'.repeat(400)}\r\n`, 'OPTIONS', 'TCP'));
    await until(() => requests.length === 1);
    c.sock.write(options(PEER, 5060, '', 'INFO', 'TCP'));
    await until(() => requests.length === 2, 1000);
    expect(requests[1]!.req.method).toBe('INFO');
  });

  it('closes a connection whose bytes cannot be framed and counts it', async () => {
    const { layer } = await start();
    const c = await tcpClient(layer.port);
    const closed = new Promise<void>((r) => c.sock.on('close', () => r()));
    c.sock.write('OPTIONS sip:x SIP/2.0\r\nContent-Length: banana\r\n\r\n');
    await closed;
    await until(() => layer.counters.tcpConnections === 0);
    expect(layer.counters.dropped).toBe(1);
  });

  it('bounds the number of connections and closes idle ones', async () => {
    const { layer, requests } = await start({ maxConnections: 1, idleTimeoutMs: 300 });
    const a = await tcpClient(layer.port);
    await until(() => layer.counters.tcpConnections === 1);
    const b = await tcpClient(layer.port);
    const bClosed = new Promise<void>((r) => b.sock.on('close', () => r()));
    await bClosed;
    expect(layer.counters.tcpRejected).toBe(1);
    const aClosed = new Promise<void>((r) => a.sock.on('close', () => r()));
    await aClosed; // idle timeout
    await until(() => layer.counters.tcpConnections === 0);
    expect(requests).toHaveLength(0);
  });

  it('opens, reuses and reports failures of outgoing connections', async () => {
    const a = await start();
    const b = await SipTransportLayer.start({ address: PEER, port: 0 });
    cleanup.push(() => b.close());
    const got: SipRequest[] = [];
    b.setListener({ onRequest: (r) => got.push(r), onResponse: () => undefined });
    const dest: Endpoint = { transport: 'TCP', address: PEER, port: b.port };
    for (let i = 0; i < 3; i++) {
      a.layer.sendRequest(parseSipMessage(Buffer.from(options(LOCAL, a.layer.port, '', 'OPTIONS', 'TCP'))) as SipRequest, dest);
    }
    await until(() => got.length === 3);
    expect(a.layer.counters.tcpConnections).toBe(1);
    expect(b.counters.tcpConnections).toBe(1);
    await b.close();
    await until(() => a.layer.counters.tcpConnections === 0);
    const errors: Error[] = [];
    a.layer.sendRequest(
      parseSipMessage(Buffer.from(options(LOCAL, a.layer.port, '', 'OPTIONS', 'TCP'))) as SipRequest,
      dest,
      (e) => errors.push(e),
    );
    await until(() => errors.length === 1);
  });
});
