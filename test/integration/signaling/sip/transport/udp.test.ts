/**
 * The SipTransport contract (contract.ts) over UDP, plus what only UDP does:
 * one datagram is one message, a response without rport goes to the sent-by
 * port, an oversized datagram costs only itself, and nothing larger than one
 * datagram can be sent. Transport on 127.0.31.1, raw peers on 127.0.31.2.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { isMeshError } from '../../../../../regions/core/errors.js';
import { createResponse, parseSipMessage } from '../../../../../signaling/sip/message/index.js';
import type { SipRequest, SipResponse } from '../../../../../signaling/sip/message/types.js';
import { DEFAULT_SIP_LIMITS } from '../../../../../signaling/sip/message/types.js';
import { SipTransportLayer } from '../../../../../signaling/sip/transport/transport-layer.js';
import type { SipTransport } from '../../../../../signaling/sip/transport/types.js';
import { describeTransportContract, request, requestText, type TransportAdapter } from './contract.js';
import { CLOSE_WITHIN_MS, settle, udpPeer, until, within, type RawPeer } from './peers.js';

const ADDRESS = '127.0.31.1';
const PEER = '127.0.31.2';

const adapter: TransportAdapter = {
  transport: 'UDP',
  address: ADDRESS,
  peerAddress: PEER,
  start: (opts = {}) =>
    SipTransportLayer.start({ address: ADDRESS, port: opts.port ?? 0, transports: ['UDP'], ...(opts.limits ? { limits: opts.limits } : {}) }),
  openPeer: () => udpPeer(PEER),
};

describeTransportContract(adapter);

describe('SipTransport over UDP only', () => {
  const cleanup: (() => unknown)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });
  const started = async (limits = DEFAULT_SIP_LIMITS): Promise<{ transport: SipTransport; requests: SipRequest[] }> => {
    const transport = await adapter.start({ limits });
    cleanup.push(() => within(transport.close(), CLOSE_WITHIN_MS, 'transport close()'));
    const requests: SipRequest[] = [];
    transport.setListener({ onRequest: (r) => requests.push(r), onResponse: () => undefined });
    return { transport, requests };
  };
  const peer = async (): Promise<RawPeer> => {
    const p = await udpPeer(PEER);
    cleanup.push(() => p.close());
    return p;
  };

  it('sends a response without rport to the sent-by port, not to the source port (§18.2.2)', async () => {
    const { transport } = await started();
    const got: { req: SipRequest; source: Parameters<SipTransport['sendResponse']>[1] }[] = [];
    transport.setListener({ onRequest: (req, source) => got.push({ req, source }), onResponse: () => undefined });
    const sender = await peer();
    const listener = await peer();
    const self = { address: ADDRESS, port: transport.port };
    await sender.send(requestText({ transport: 'UDP', to: self, via: listener.listening, rport: false }), self);
    await until(() => got.length === 1);
    transport.sendResponse(createResponse(got[0]!.req, 200, undefined, { toTag: 'u' }), got[0]!.source);
    await until(() => listener.received.length === 1);
    expect((parseSipMessage(listener.received[0]!.bytes) as SipResponse).status).toBe(200);
    await settle();
    expect(sender.received).toHaveLength(0);
  });

  it('takes each datagram as one message: a request cut in two is not put together again', async () => {
    const { transport, requests } = await started();
    const p = await peer();
    const self = { address: ADDRESS, port: transport.port };
    const text = requestText({ transport: 'UDP', to: self, via: p.listening });
    const cut = text.indexOf('Call-ID');
    await p.send(text.slice(0, cut), self);
    await p.send(text.slice(cut), self);
    await until(() => transport.counters.received === 2);
    await settle();
    expect(requests).toHaveLength(0);
    expect(transport.counters.dropped + transport.counters.badRequests).toBe(2);
  });

  it('drops a datagram over maxMessageBytes as unparseable and keeps its socket: nothing to close on UDP', async () => {
    const { transport, requests } = await started({ ...DEFAULT_SIP_LIMITS, maxMessageBytes: 2000 });
    const p = await peer();
    const self = { address: ADDRESS, port: transport.port };
    await p.send(requestText({ transport: 'UDP', to: self, via: p.listening, body: 'x'.repeat(3000) }), self);
    await until(() => transport.counters.oversized === 1);
    expect(transport.counters.droppedByReason.unparseable).toBe(1);
    expect(transport.counters.droppedByReason.framing).toBe(0);
    // The same socket, the same peer port: the next datagram is served.
    await p.send(requestText({ transport: 'UDP', to: self, via: p.listening }), self);
    await until(() => requests.length === 1);
    expect(p.received).toHaveLength(0);
  });

  it('refuses to send a message larger than one datagram (TOO_LARGE on onError, counted, nothing sent)', async () => {
    const { transport } = await started();
    const p = await peer();
    const errors: Error[] = [];
    const big = request({ transport: 'UDP', to: p.listening, via: { address: ADDRESS, port: transport.port }, body: 'x'.repeat(70_000) });
    transport.sendRequest(big, { transport: 'UDP', ...p.listening }, (e) => errors.push(e));
    expect(errors).toHaveLength(1);
    expect(isMeshError(errors[0]) && errors[0].code).toBe('TOO_LARGE');
    expect(transport.counters.sent).toBe(0);
    expect(transport.counters.sendErrors).toBe(1);
    await settle();
    expect(p.received).toHaveLength(0);
  });

  it('reports an impossible destination port on onError instead of throwing', async () => {
    const { transport } = await started();
    const errors: Error[] = [];
    const req = request({ transport: 'UDP', to: { address: PEER, port: 5060 }, via: { address: ADDRESS, port: transport.port } });
    expect(() => transport.sendRequest(req, { transport: 'UDP', address: PEER, port: 70_000 }, (e) => errors.push(e))).not.toThrow();
    expect(errors).toHaveLength(1);
    expect(transport.counters.sendErrors).toBe(1);
  });
});
