/**
 * The SipTransport contract (contract.ts) over WebSocket (RFC 7118), plus
 * what only the WebSocket transport does: the upgrade and its refusals
 * (subprotocol `sip` required, RFC 7118 §4.1), bounds on connections, on the
 * upgrade's size and time, protocol violations failing the connection
 * (RFC 6455 §7.1.7), fragments and binary frames, pings and the idle close,
 * requests only over the client's own connection, CRLF pong, and `wss`.
 * Transport on 127.0.37.1, clients on 127.0.37.2.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { isMeshError } from '../../../../../regions/core/errors.js';
import { createResponse, parseSipMessage } from '../../../../../signaling/sip/message/index.js';
import type { Endpoint, SipRequest, SipResponse } from '../../../../../signaling/sip/message/types.js';
import { DEFAULT_SIP_LIMITS } from '../../../../../signaling/sip/message/types.js';
import { SipTransportLayer, type WsOptions } from '../../../../../signaling/sip/transport/transport-layer.js';
import { encodeFrame, OPCODE } from '../../../../../signaling/sip/transport/websocket/frames.js';
import { connectWs, rawHttp, type HttpAnswer } from '../../../../support/ws-client.js';
import { describeTransportContract, request, requestText, type TransportAdapter } from './contract.js';
import { CLOSE_WITHIN_MS, settle, until, within } from './peers.js';
import { wsPeer } from './ws-peer.js';

const ADDRESS = '127.0.37.1';
const PEER = '127.0.37.2';

const start = (opts: { port?: number; limits?: typeof DEFAULT_SIP_LIMITS; ws?: WsOptions } = {}) =>
  SipTransportLayer.start({
    address: ADDRESS,
    port: 0,
    transports: [],
    ...(opts.limits ? { limits: opts.limits } : {}),
    websocket: { port: opts.port ?? 0, ...opts.ws },
  });

const adapter: TransportAdapter = {
  transport: 'WS',
  address: ADDRESS,
  peerAddress: PEER,
  start: (opts = {}) => start(opts),
  openPeer: (server) => wsPeer(PEER, server),
};

describeTransportContract(adapter);

describe('SipTransport over WebSocket only', () => {
  const cleanup: (() => unknown)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });
  const started = async (ws: WsOptions = {}, limits = DEFAULT_SIP_LIMITS) => {
    const transport = await start({ ws, limits });
    cleanup.push(() => within(transport.close(), CLOSE_WITHIN_MS, 'transport close()'));
    const requests: { req: SipRequest; source: Endpoint }[] = [];
    transport.setListener({ onRequest: (req, source) => requests.push({ req, source }), onResponse: () => undefined });
    const self = { address: ADDRESS, port: transport.port };
    const client = async (path = '/') => {
      const c = await connectWs({ host: ADDRESS, port: transport.port, localAddress: PEER, path });
      cleanup.push(() => c.destroy());
      return c;
    };
    return { transport, requests, self, client };
  };
  const refusal = async (p: Promise<unknown>): Promise<HttpAnswer> => {
    try {
      await p;
    } catch (e) {
      return (e as { answer: HttpAnswer }).answer;
    }
    throw new Error('upgrade was accepted');
  };

  it('answers the upgrade with subprotocol sip and hands the access_token of the URL to the SIP layer', async () => {
    const { transport, requests, self, client } = await started();
    const c = await client('/?access_token=abc.def.ghi');
    expect(c.protocol).toBe('sip');
    c.send(requestText({ transport: 'WS', to: self, via: { address: 'df7jal23ls0d.invalid', port: 5060 } }));
    await until(() => requests.length === 1);
    const info = transport.connection(requests[0]!.source);
    expect(info?.token).toBe('abc.def.ghi');
    expect(info?.endpoint).toEqual({ transport: 'WS', address: PEER, port: c.localPort });
    expect(transport.counters.wsConnections).toBe(1);
  });

  it('refuses an upgrade that does not offer the sip subprotocol with 400 and says so (RFC 7118 §4.1)', async () => {
    const { transport } = await started();
    const none = await refusal(connectWs({ host: ADDRESS, port: transport.port, localAddress: PEER, protocols: [] }));
    expect(none.status).toBe(400);
    expect(none.body).toContain('"sip"');
    const other = await refusal(connectWs({ host: ADDRESS, port: transport.port, localAddress: PEER, protocols: ['chat'] }));
    expect(other.status).toBe(400);
    expect(other.headers.has('sec-websocket-protocol')).toBe(false);
    expect(transport.counters.wsRefused.handshake).toBe(2);
    expect(transport.counters.wsConnections).toBe(0);
  });

  it('answers a plain HTTP request 426 and an upgrade head over the limit 431', async () => {
    const { transport } = await started({ maxHandshakeBytes: 1024 });
    const plain = await rawHttp({ host: ADDRESS, port: transport.port, localAddress: PEER }, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(plain.status).toBe(426);
    const big = await rawHttp({ host: ADDRESS, port: transport.port, localAddress: PEER }, `GET / HTTP/1.1\r\nHost: x\r\nX-Pad: ${'p'.repeat(2000)}\r\n\r\n`);
    expect(big.status).toBe(431);
    expect(transport.counters.wsRefused.handshake).toBe(2);
  });

  it('closes an upgrade not finished in time (slow loris) with 408, and frees its slot', async () => {
    const { transport, client } = await started({ handshakeTimeoutMs: 200, maxConnections: 1 });
    const slow = await rawHttp({ host: ADDRESS, port: transport.port, localAddress: PEER, timeoutMs: 2000 }, 'GET / HTTP/1.1\r\nHost: x\r\n');
    expect(slow.status).toBe(408);
    expect(transport.counters.wsRefused.timeout).toBe(1);
    await client(); // the slot is free again
  });

  it('refuses connections over maxConnections with 503 + Retry-After, counting upgrades in progress', async () => {
    const { transport, client } = await started({ maxConnections: 2 });
    await client();
    await client();
    const third = await refusal(connectWs({ host: ADDRESS, port: transport.port, localAddress: PEER }));
    expect(third.status).toBe(503);
    expect(third.headers.get('retry-after')).toBe('5');
    expect(transport.counters.wsRefused.limit).toBe(1);
    expect(transport.counters.wsConnections).toBe(2);
  });

  it('fails the connection on an unmasked client frame with 1002, counted as framing (RFC 6455 §5.1)', async () => {
    const { transport, self, client } = await started();
    const c = await client();
    c.sendRaw(encodeFrame(OPCODE.text, Buffer.from(requestText({ transport: 'WS', to: self, via: { address: PEER, port: 1 } })), false));
    const closed = await within(c.closed, 2000, 'connection closed');
    expect(closed.code).toBe(1002);
    expect(transport.counters.droppedByReason.framing).toBe(1);
    await until(() => transport.counters.wsConnections === 0);
  });

  it('fails the connection of a message over maxMessageBytes with 1009, even when it comes in small fragments', async () => {
    const { transport, requests, self, client } = await started({}, { ...DEFAULT_SIP_LIMITS, maxMessageBytes: 2000 });
    const c = await client();
    const text = Buffer.from(requestText({ transport: 'WS', to: self, via: { address: PEER, port: 1 }, body: 'x'.repeat(3000) }));
    // Fragments of 500 bytes (each under the limit): text first, continuations after, no FIN until the end.
    for (let i = 0; i < text.length; i += 500) {
      const part = encodeFrame(i === 0 ? OPCODE.text : OPCODE.continuation, text.subarray(i, i + 500), true);
      if (i + 500 < text.length) part[0] = part[0]! & 0x7f;
      c.sendRaw(part);
    }
    const closed = await within(c.closed, 2000, 'connection closed');
    expect(closed.code).toBe(1009);
    expect(transport.counters.oversized).toBe(1);
    expect(requests).toHaveLength(0);
  });

  it('reassembles a fragmented message and takes binary frames too (RFC 7118 §5)', async () => {
    const { requests, self, client } = await started();
    const c = await client();
    const text = Buffer.from(requestText({ transport: 'WS', method: 'INFO', to: self, via: { address: PEER, port: 1 } }));
    const a = encodeFrame(OPCODE.text, text.subarray(0, 40), true);
    a[0] = a[0]! & 0x7f;
    c.sendRaw(Buffer.concat([a, encodeFrame(OPCODE.ping, Buffer.from('hi'), true), encodeFrame(OPCODE.continuation, text.subarray(40), true)]));
    c.send(Buffer.from(requestText({ transport: 'WS', method: 'OPTIONS', to: self, via: { address: PEER, port: 1 } })), true);
    await until(() => requests.length === 2);
    expect(requests.map((r) => r.req.method)).toEqual(['INFO', 'OPTIONS']);
  });

  it('answers a double-CRLF keep-alive with a single CRLF (RFC 5626 §4.4.1, as SIP.js uses it)', async () => {
    const { transport, client } = await started();
    const c = await client();
    c.send('\r\n\r\n');
    await until(() => c.messages.length === 1);
    expect(c.messages[0]!.data.toString()).toBe('\r\n');
    expect(transport.counters.received).toBe(0);
  });

  it('pings a quiet connection and closes it when nothing comes back, telling the connection listener', async () => {
    const { transport, client } = await started({ pingIntervalMs: 100, idleTimeoutMs: 400 });
    const closedInfos: Endpoint[] = [];
    transport.addConnectionListener({ onClosed: (info) => closedInfos.push(info.endpoint) });
    const alive = await client();
    const dead = await client();
    dead.answerPings = false;
    await within(dead.closed, 2000, 'quiet connection closed');
    expect(dead.pings).toBeGreaterThanOrEqual(1);
    await until(() => closedInfos.length === 1);
    expect(closedInfos[0]).toEqual({ transport: 'WS', address: PEER, port: dead.localPort });
    // The one that answers its pings stays open.
    await settle(300);
    expect(alive.isClosed).toBe(false);
    expect(alive.pings).toBeGreaterThanOrEqual(1);
    expect(transport.counters.wsConnections).toBe(1);
  });

  it('sends requests to a client only over its own connection; once it is gone, sends fail with TRANSPORT_ERROR', async () => {
    const { transport, requests, self, client } = await started();
    const c = await client();
    c.send(requestText({ transport: 'WS', method: 'REGISTER', to: self, via: { address: 'x.invalid', port: 5060 } }));
    await until(() => requests.length === 1);
    const { req, source } = requests[0]!;
    const out = request({ transport: 'WS', to: { address: PEER, port: c.localPort }, via: self });
    const errors: Error[] = [];
    transport.sendRequest(out, source, (e) => errors.push(e));
    await until(() => c.messages.length === 1);
    expect((parseSipMessage(c.messages[0]!.data) as SipRequest).method).toBe('OPTIONS');
    c.destroy();
    await until(() => transport.counters.wsConnections === 0);
    transport.sendRequest(out, source, (e) => errors.push(e));
    transport.sendResponse(createResponse(req, 200, undefined, { toTag: 'x' }), source, (e) => errors.push(e));
    expect(errors).toHaveLength(2);
    expect(errors.every((e) => isMeshError(e) && e.code === 'TRANSPORT_ERROR')).toBe(true);
    expect(errors[0]!.message).toContain('RFC 7118');
  });

  it('sends a response with a binary body as a binary frame and a text one as text', async () => {
    const { transport, requests, self, client } = await started();
    const c = await client();
    c.send(requestText({ transport: 'WS', to: self, via: { address: PEER, port: 1 } }));
    await until(() => requests.length === 1);
    const res = createResponse(requests[0]!.req, 200, undefined, { toTag: 'b' });
    transport.sendResponse(res, requests[0]!.source);
    const bin = createResponse(requests[0]!.req, 200, undefined, { toTag: 'b' });
    bin.body = Buffer.from([0xff, 0xfe, 0x00]);
    bin.headers.set('Content-Length', '3');
    transport.sendResponse(bin, requests[0]!.source);
    await until(() => c.messages.length === 2);
    expect(c.messages.map((m) => m.binary)).toEqual([false, true]);
    expect((parseSipMessage(c.messages[0]!.data) as SipResponse).status).toBe(200);
  });
});

describe('SipTransport over secure WebSocket (wss)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wss-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('serves wss with a configured certificate: WSS in Via and endpoints', async () => {
    const certFile = join(dir, 'cert.pem');
    const keyFile = join(dir, 'key.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '1', '-subj', '/CN=127.0.37.1'], { stdio: 'ignore' });
    const transport = await start({ ws: { tls: { certFile, keyFile } } });
    try {
      expect(transport.transports).toEqual(['WSS']);
      const requests: { req: SipRequest; source: Endpoint }[] = [];
      transport.setListener({ onRequest: (req, source) => requests.push({ req, source }), onResponse: () => undefined });
      const self = { address: ADDRESS, port: transport.port };
      const peer = await wsPeer(PEER, self, { tls: true });
      try {
        await peer.send(requestText({ transport: 'WSS', to: self, via: { address: 'a.invalid', port: 5060 } }), self);
        await until(() => requests.length === 1);
        expect(requests[0]!.source.transport).toBe('WSS');
        transport.sendResponse(createResponse(requests[0]!.req, 200, undefined, { toTag: 's' }), requests[0]!.source);
        await until(() => peer.received.length === 1);
        expect((parseSipMessage(peer.received[0]!.bytes) as SipResponse).status).toBe(200);
      } finally {
        await peer.close();
      }
    } finally {
      await within(transport.close(), CLOSE_WITHIN_MS, 'close()');
    }
  });

  it('fails to start with CONFIG_INVALID naming the missing certificate file', async () => {
    await expect(start({ ws: { tls: { certFile: join(dir, 'nope.pem'), keyFile: join(dir, 'nope.key') } } })).rejects.toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringContaining('nope.pem') });
  });
});
