/**
 * The SipTransport contract (contract.ts) over TCP, plus what only a stream
 * transport does (RFC 3261 §18.3, §18.2.2): framing across and within
 * segments, one connection per remote endpoint, a new connection to the
 * sent-by port when the request's connection is gone, messages larger than
 * a UDP datagram, an oversized message ends its connection, and close()
 * ends connections and fails sends still connecting. Transport on
 * 127.0.31.11, raw peers on 127.0.31.12.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { isMeshError } from '../../../../../regions/core/errors.js';
import { createResponse, parseSipMessage } from '../../../../../signaling/sip/message/index.js';
import type { Endpoint, SipRequest, SipResponse } from '../../../../../signaling/sip/message/types.js';
import { DEFAULT_SIP_LIMITS } from '../../../../../signaling/sip/message/types.js';
import { SipTransportLayer } from '../../../../../signaling/sip/transport/transport-layer.js';
import type { SipTransport } from '../../../../../signaling/sip/transport/types.js';
import { describeTransportContract, request, requestText, type TransportAdapter } from './contract.js';
import { CLOSE_WITHIN_MS, settle, tcpPeer, until, within, type Address, type TcpRawPeer } from './peers.js';

const ADDRESS = '127.0.31.11';
const PEER = '127.0.31.12';

const adapter: TransportAdapter = {
  transport: 'TCP',
  address: ADDRESS,
  peerAddress: PEER,
  start: (opts = {}) =>
    SipTransportLayer.start({ address: ADDRESS, port: opts.port ?? 0, transports: ['TCP'], ...(opts.limits ? { limits: opts.limits } : {}) }),
  openPeer: () => tcpPeer(PEER),
};

describeTransportContract(adapter);

describe('SipTransport over TCP only', () => {
  const cleanup: (() => unknown)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });
  const started = async (limits = DEFAULT_SIP_LIMITS) => {
    const transport = await adapter.start({ limits });
    cleanup.push(() => within(transport.close(), CLOSE_WITHIN_MS, 'transport close()'));
    const requests: { req: SipRequest; source: Endpoint }[] = [];
    transport.setListener({ onRequest: (req, source) => requests.push({ req, source }), onResponse: () => undefined });
    const self: Address = { address: ADDRESS, port: transport.port };
    return { transport, requests, self };
  };
  const peer = async (): Promise<TcpRawPeer> => {
    const p = await tcpPeer(PEER);
    cleanup.push(() => p.close());
    return p;
  };

  it('reports an impossible destination port on onError instead of throwing, as UDP does', async () => {
    const { transport } = await started();
    const errors: Error[] = [];
    const req = request({ transport: 'TCP', to: { address: PEER, port: 5060 }, via: { address: ADDRESS, port: transport.port } });
    expect(() => transport.sendRequest(req, { transport: 'TCP', address: PEER, port: 70_000 }, (e) => errors.push(e))).not.toThrow();
    expect(errors).toHaveLength(1);
    expect(isMeshError(errors[0]) && errors[0].code).toBe('TRANSPORT_ERROR');
  });

  it('frames a message split across segments into one, and two messages in one segment into two', async () => {
    const { requests, self } = await started();
    const p = await peer();
    const text = requestText({ transport: 'TCP', method: 'OPTIONS', to: self, via: p.listening, body: 'v=0\r\n' });
    const cuts = [0, 20, text.indexOf('\r\n\r\n') + 1, text.length - 2, text.length];
    for (let i = 0; i + 1 < cuts.length; i++) {
      await p.send(text.slice(cuts[i], cuts[i + 1]), self);
      await settle(30);
      expect(requests).toHaveLength(i + 2 === cuts.length ? 1 : 0);
    }
    expect(requests[0]!.req.body.toString()).toBe('v=0\r\n');
    await p.send(
      requestText({ transport: 'TCP', method: 'INFO', to: self, via: p.listening }) + requestText({ transport: 'TCP', method: 'BYE', to: self, via: p.listening }),
      self,
    );
    await until(() => requests.length === 3);
    expect(requests.map((r) => r.req.method)).toEqual(['OPTIONS', 'INFO', 'BYE']);
    // All on the one connection the peer opened.
    expect(new Set(requests.map((r) => r.source.port)).size).toBe(1);
  });

  it('reuses one connection per remote endpoint for its requests', async () => {
    const { transport, self } = await started();
    const p = await peer();
    for (let i = 0; i < 3; i++) {
      transport.sendRequest(request({ transport: 'TCP', to: p.listening, via: self }), { transport: 'TCP', ...p.listening });
    }
    await until(() => p.received.length === 3);
    expect(new Set(p.received.map((r) => `${r.from.address}:${r.from.port}`)).size).toBe(1);
    expect(p.connectionCount).toBe(1);
    expect(transport.counters.tcpConnections).toBe(1);
  });

  it('opens a new connection to received + the sent-by port when the request’s connection is gone (§18.2.2)', async () => {
    const { transport, requests, self } = await started();
    const p = await peer();
    await p.send(requestText({ transport: 'TCP', to: self, via: p.listening }), self);
    await until(() => requests.length === 1);
    const { req, source } = requests[0]!;
    await p.closeOutgoing();
    await until(() => transport.counters.tcpConnections === 0);
    const errors: Error[] = [];
    transport.sendResponse(createResponse(req, 200, undefined, { toTag: 't' }), source, (e) => errors.push(e));
    await until(() => p.received.length === 1);
    expect((parseSipMessage(p.received[0]!.bytes) as SipResponse).status).toBe(200);
    // It came on a connection the transport opened (from an ephemeral port), to where the peer listens.
    expect(p.received[0]!.from.address).toBe(ADDRESS);
    expect(p.received[0]!.from.port).not.toBe(self.port);
    expect(errors).toEqual([]);
  });

  it('carries a message larger than one UDP datagram', async () => {
    const { transport, self } = await started();
    const p = await peer();
    const errors: Error[] = [];
    const body = 'x'.repeat(70_000);
    transport.sendRequest(request({ transport: 'TCP', to: p.listening, via: self, body }), { transport: 'TCP', ...p.listening }, (e) => errors.push(e));
    await until(() => p.received.length === 1);
    expect((parseSipMessage(p.received[0]!.bytes, { ...DEFAULT_SIP_LIMITS, maxMessageBytes: 1 << 20 }) as SipRequest).body.length).toBe(70_000);
    expect(errors).toEqual([]);
  });

  it('ends the connection of a message over maxMessageBytes, unanswered: it cannot be framed past it', async () => {
    const { transport, requests, self } = await started({ ...DEFAULT_SIP_LIMITS, maxMessageBytes: 2000 });
    const p = await peer();
    await p.send(requestText({ transport: 'TCP', to: self, via: p.listening, body: 'x'.repeat(3000) }), self);
    await until(() => transport.counters.oversized === 1);
    await until(() => p.connectionCount === 0);
    expect(transport.counters.droppedByReason.framing).toBe(1);
    expect(transport.counters.tcpConnections).toBe(0);
    expect(p.received).toHaveLength(0);
    expect(requests).toHaveLength(0);
  });

  it('close() ends open connections and fails a send whose connection is still being opened', async () => {
    const { transport, requests, self } = await started();
    const client = await peer();
    await client.send(requestText({ transport: 'TCP', to: self, via: client.listening }), self);
    await until(() => requests.length === 1);
    const server = await peer();
    const errors: Error[] = [];
    transport.sendRequest(request({ transport: 'TCP', to: server.listening, via: self }), { transport: 'TCP', ...server.listening }, (e) => errors.push(e));
    await within(transport.close(), CLOSE_WITHIN_MS, 'close()');
    await until(() => errors.length === 1);
    expect(isMeshError(errors[0]) && errors[0].code).toBe('TRANSPORT_ERROR');
    await until(() => client.connectionCount === 0);
    expect(transport.counters.tcpConnections).toBe(0);
    await settle();
    expect(server.received).toHaveLength(0);
  });
});
