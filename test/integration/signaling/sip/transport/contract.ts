/**
 * The SipTransport contract (signaling/sip/transport/types.ts): what every
 * SIP transport does, checked over real loopback sockets against a raw peer
 * that speaks bytes. `udp.test.ts` and `tcp.test.ts` run it with a
 * SipTransportLayer that has only that transport enabled, and `ws.test.ts`
 * with only WebSocket (RFC 7118); what legitimately
 * differs (framing, connection reuse, datagram size, how an oversized
 * message is refused) is tested in those files, not here.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { isMeshError } from '../../../../../regions/core/errors.js';
import { createResponse, parseSipMessage, parseVia } from '../../../../../signaling/sip/message/index.js';
import type { Endpoint, SipLimits, SipRequest, SipResponse } from '../../../../../signaling/sip/message/types.js';
import { DEFAULT_SIP_LIMITS } from '../../../../../signaling/sip/message/types.js';
import type { SipTransport, TransportName } from '../../../../../signaling/sip/transport/types.js';
import { CLOSE_WITHIN_MS, settle, until, within, type Address, type RawPeer, type Received } from './peers.js';

export interface TransportAdapter {
  readonly transport: TransportName;
  /** Loopback address the transport under test binds. */
  readonly address: string;
  /** Loopback address raw peers bind: not `address`, so `received` gets stamped where the rules say. */
  readonly peerAddress: string;
  /** A transport with only `transport` enabled on `address` (port 0 = any free one). */
  start(opts?: { port?: number; limits?: SipLimits }): Promise<SipTransport>;
  /**
   * A raw peer on `peerAddress`. `server` is the transport under test: a
   * WebSocket peer connects to it at once (a browser has no listening
   * address); UDP and TCP peers ignore it.
   */
  openPeer(server: Address): Promise<RawPeer>;
}

/** An address no test listens on (TEST-NET-1, RFC 5737): a Via naming it cannot be where an answer goes. */
export const UNREACHABLE = { address: '192.0.2.1', port: 5999 };

let seq = 0;

export interface RequestSpec {
  transport: TransportName;
  method?: string;
  to: Address;
  /** Via sent-by. */
  via: Address;
  /** Add `;rport` to the Via (RFC 3581 §3). Default true. */
  rport?: boolean;
  /** Header lines added after the standard ones. */
  extra?: string[];
  maxForwards?: string;
  body?: string;
}

/** A request as bytes, every identifier fresh. */
export function requestText(s: RequestSpec): string {
  seq += 1;
  const method = s.method ?? 'OPTIONS';
  const body = s.body ?? '';
  return [
    `${method} sip:svc@${s.to.address}:${s.to.port} SIP/2.0`,
    `Via: SIP/2.0/${s.transport} ${s.via.address}:${s.via.port};branch=z9hG4bK-contract-${seq}${s.rport === false ? '' : ';rport'}`,
    `Max-Forwards: ${s.maxForwards ?? '70'}`,
    `From: <sip:peer@${s.via.address}>;tag=f${seq}`,
    `To: <sip:svc@${s.to.address}>`,
    `Call-ID: contract-${seq}@${s.via.address}`,
    `CSeq: 1 ${method}`,
    ...(s.extra ?? []),
    `Content-Length: ${Buffer.byteLength(body)}`,
    '',
    body,
  ].join('\r\n');
}

/** A request as the stack hands it to a transport (parsed without a size limit: sizes are the transport's concern). */
export function request(s: RequestSpec): SipRequest {
  return parseSipMessage(Buffer.from(requestText(s)), { ...DEFAULT_SIP_LIMITS, maxMessageBytes: 1 << 20 }) as SipRequest;
}

/** A 200 to a request the peer received, as bytes, Via headers copied (§8.2.6.2). */
export function okFor(received: Received): string {
  const req = parseSipMessage(received.bytes) as SipRequest;
  const lines = received.text.split('\r\n');
  const copied = lines.filter((l) => /^(via|from|call-id|cseq):/i.test(l));
  const to = req.headers.get('To') ?? '';
  return ['SIP/2.0 200 OK', ...copied, `To: ${to};tag=peer`, 'Content-Length: 0', '', ''].join('\r\n');
}

export function responseText(viaSentBy: Address, transport: TransportName, status = '200 OK'): string {
  seq += 1;
  return [
    `SIP/2.0 ${status}`,
    `Via: SIP/2.0/${transport} ${viaSentBy.address}:${viaSentBy.port};branch=z9hG4bK-stray-${seq}`,
    `From: <sip:a@${viaSentBy.address}>;tag=a${seq}`,
    `To: <sip:b@example.invalid>;tag=b${seq}`,
    `Call-ID: stray-${seq}`,
    'CSeq: 1 OPTIONS',
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

/** The MeshError code an onError callback got, or a description of what it got instead. */
function codeOf(e: Error | undefined): string {
  if (e === undefined) return 'no error';
  return isMeshError(e) ? e.code : `not a MeshError: ${e.message}`;
}

export function describeTransportContract(adapter: TransportAdapter): void {
  const T = adapter.transport;

  describe(`SipTransport contract over ${T}`, () => {
    const cleanup: (() => unknown)[] = [];
    afterEach(async () => {
      for (const c of cleanup.splice(0).reverse()) await c();
    });

    async function setUp(opts: { limits?: SipLimits } = {}) {
      const transport = await adapter.start(opts);
      cleanup.push(() => within(transport.close(), CLOSE_WITHIN_MS, 'transport close()'));
      const requests: { req: SipRequest; source: Endpoint }[] = [];
      const responses: { res: SipResponse; source: Endpoint }[] = [];
      transport.setListener({
        onRequest: (req, source) => requests.push({ req, source }),
        onResponse: (res, source) => responses.push({ res, source }),
      });
      const self: Address = { address: transport.address, port: transport.port };
      const peer = await openPeer(self);
      return { transport, requests, responses, peer, self };
    }

    async function openPeer(server: Address): Promise<RawPeer> {
      const peer = await adapter.openPeer(server);
      cleanup.push(() => peer.close());
      return peer;
    }

    it('runs only the transport asked for, on its address and one port', async () => {
      const { transport } = await setUp();
      expect(transport.transports).toEqual([T]);
      expect(transport.port).toBeGreaterThan(0);
      expect(transport.localEndpoint(T)).toEqual({ transport: T, address: adapter.address, port: transport.port });
      expect(transport.sentByHost).toBe(adapter.address);
    });

    it('delivers a request with its source and stamps received + rport into the top Via (RFC 3581 §4)', async () => {
      const { transport, requests, peer, self } = await setUp();
      const from = await peer.send(requestText({ transport: T, to: self, via: UNREACHABLE }), self);
      await until(() => requests.length === 1, 2000, 'request delivered');
      const { req, source } = requests[0]!;
      expect(source).toEqual({ transport: T, address: adapter.peerAddress, port: from.port });
      const via = parseVia(req.headers.getList('Via')[0]!);
      expect(via.params.get('received')).toBe(adapter.peerAddress);
      expect(via.params.get('rport')).toBe(String(from.port));
      expect(transport.counters.received).toBe(1);
      expect(transport.counters.dropped).toBe(0);
    });

    it('stamps received without an rport value when the sent-by host is not the source and rport was not asked (§18.2.1)', async () => {
      const { requests, peer, self } = await setUp();
      await peer.send(requestText({ transport: T, to: self, via: UNREACHABLE, rport: false }), self);
      await until(() => requests.length === 1, 2000, 'request delivered');
      const via = parseVia(requests[0]!.req.headers.getList('Via')[0]!);
      expect(via.params.get('received')).toBe(adapter.peerAddress);
      expect(via.params.has('rport')).toBe(false);
    });

    it('leaves the top Via as it came when its sent-by host is the source and rport was not asked (§18.2.1)', async () => {
      const { requests, peer, self } = await setUp();
      const text = requestText({ transport: T, to: self, via: peer.listening, rport: false });
      await peer.send(text, self);
      await until(() => requests.length === 1, 2000, 'request delivered');
      const sentVia = /^Via: (.*)$/m.exec(text)![1]!;
      expect(requests[0]!.req.headers.getList('Via')[0]).toBe(sentVia);
    });

    it('sends a response back to where its request came from, not to an unreachable sent-by (§18.2.2, RFC 3581)', async () => {
      const { transport, requests, peer, self } = await setUp();
      await peer.send(requestText({ transport: T, to: self, via: UNREACHABLE }), self);
      await until(() => requests.length === 1, 2000, 'request delivered');
      const errors: Error[] = [];
      const { req, source } = requests[0]!;
      transport.sendResponse(createResponse(req, 200, undefined, { toTag: 'uas' }), source, (e) => errors.push(e));
      await until(() => peer.received.length === 1, 2000, 'response at the peer');
      const got = parseSipMessage(peer.received[0]!.bytes) as SipResponse;
      expect(got.status).toBe(200);
      expect(got.headers.get('Call-ID')).toBe(req.headers.get('Call-ID'));
      // It leaves from the transport's own address and port (UDP: its socket; TCP: the connection the request used).
      expect(peer.received[0]!.from).toEqual(self);
      expect(errors).toEqual([]);
      expect(transport.counters.sent).toBe(1);
    });

    it('sends a request to an endpoint and delivers the response that comes back with its source (§18.1.2)', async () => {
      const { transport, responses, peer } = await setUp();
      const errors: Error[] = [];
      const req = request({ transport: T, to: peer.listening, via: { address: transport.sentByHost, port: transport.port } });
      transport.sendRequest(req, { transport: T, ...peer.listening }, (e) => errors.push(e));
      await until(() => peer.received.length === 1, 2000, 'request at the peer');
      const atPeer = parseSipMessage(peer.received[0]!.bytes) as SipRequest;
      expect(atPeer.method).toBe('OPTIONS');
      expect(atPeer.headers.get('Call-ID')).toBe(req.headers.get('Call-ID'));
      expect(peer.received[0]!.from.address).toBe(adapter.address);
      await peer.reply(peer.received[0]!, okFor(peer.received[0]!));
      await until(() => responses.length === 1, 2000, 'response delivered');
      expect(responses[0]!.res.status).toBe(200);
      expect(responses[0]!.source).toEqual({ transport: T, ...peer.listening });
      expect(errors).toEqual([]);
      expect(transport.counters).toMatchObject({ sent: 1, received: 1, dropped: 0 });
    });

    it('drops a response whose top Via is not its own (§18.1.2), and keeps serving', async () => {
      const { transport, responses, peer, self } = await setUp();
      await peer.send(responseText({ address: adapter.peerAddress, port: self.port }, T), self);
      await peer.send(responseText({ address: self.address, port: self.port + 1 }, T), self);
      await peer.send(responseText(self, T), self);
      await until(() => responses.length === 1, 2000, 'our response delivered');
      await until(() => transport.counters.droppedByReason['not-our-response'] === 2, 2000, 'two dropped');
      expect(transport.counters.dropped).toBe(2);
      expect(transport.counters.received).toBe(3);
    });

    it("answers an answerable malformed request statelessly with 400 and the parser's reason, counted by status (RFC 3261 §8.2.6)", async () => {
      const { transport, requests, peer, self } = await setUp();
      const bad = requestText({ transport: T, to: self, via: UNREACHABLE, maxForwards: 'abc' });
      let reason = '';
      try {
        parseSipMessage(Buffer.from(bad));
      } catch (e) {
        reason = (e as { reason: string }).reason;
      }
      expect(reason).not.toBe('');
      await peer.send(bad, self);
      await until(() => peer.received.length === 1, 2000, 'stateless answer');
      const res = parseSipMessage(peer.received[0]!.bytes) as SipResponse;
      expect(res.status).toBe(400);
      expect(res.reason).toBe(reason);
      expect(res.headers.getList('Via')[0]).toContain(`received=${adapter.peerAddress}`);
      expect(requests).toHaveLength(0);
      expect(transport.counters.badRequests).toBe(1);
      expect(transport.counters.rejected).toEqual({ '400': 1 });
    });

    it('never answers a malformed ACK (§17.2.3): counted as unparseable', async () => {
      const { transport, requests, peer, self } = await setUp();
      await peer.send(requestText({ transport: T, method: 'ACK', to: self, via: peer.listening, maxForwards: 'abc' }), self);
      await until(() => transport.counters.dropped === 1, 2000, 'ACK dropped');
      await settle();
      expect(peer.received).toHaveLength(0);
      expect(requests).toHaveLength(0);
      expect(transport.counters.droppedByReason.unparseable).toBe(1);
      expect(transport.counters.badRequests).toBe(0);
    });

    it('drops input that is not SIP, unanswered and counted, and keeps serving', async () => {
      const { transport, requests, peer, self } = await setUp();
      await peer.send('\x00\x01garbage\r\nContent-Length: 0\r\n\r\n', self);
      await peer.send('hello world\r\n\r\n', self);
      await peer.send(requestText({ transport: T, to: self, via: peer.listening }), self);
      await until(() => requests.length === 1, 2000, 'good request after garbage');
      expect(transport.counters.droppedByReason.unparseable).toBe(2);
      expect(transport.counters.dropped).toBe(2);
      expect(transport.counters.received).toBe(3);
      expect(peer.received).toHaveLength(0);
    });

    it('drops a request without any Via, unanswered: an answer would have nowhere to go (§18.2.2, §8.2.6.2)', async () => {
      const { transport, requests, peer, self } = await setUp();
      const noVia = requestText({ transport: T, to: self, via: peer.listening }).replace(/^Via: .*\r\n/m, '');
      await peer.send(noVia, self);
      await until(() => transport.counters.dropped === 1, 2000, 'dropped');
      await settle();
      // The parser refuses it (Via is mandatory, §8.1.1.7) with nothing to answer from: counted as unparseable.
      expect(transport.counters.droppedByReason.unparseable).toBe(1);
      expect(transport.counters.badRequests).toBe(0);
      expect(peer.received).toHaveLength(0);
      expect(requests).toHaveLength(0);
    });

    it('counts a message over maxMessageBytes as oversized, drops it unanswered, and still serves others', async () => {
      const limits = { ...DEFAULT_SIP_LIMITS, maxMessageBytes: 2000 };
      const { transport, requests, peer, self } = await setUp({ limits });
      await peer.send(requestText({ transport: T, to: self, via: peer.listening, body: 'x'.repeat(3000) }), self);
      await until(() => transport.counters.oversized === 1, 2000, 'oversized counted');
      expect(transport.counters.dropped).toBe(1);
      await settle();
      expect(peer.received).toHaveLength(0);
      // A fresh peer: over TCP the first one's connection may be gone (see tcp.test.ts).
      const other = await openPeer(self);
      await other.send(requestText({ transport: T, to: self, via: other.listening, body: 'y'.repeat(500) }), self);
      await until(() => requests.length === 1, 2000, 'small request delivered');
      expect(requests[0]!.req.body.length).toBe(500);
      expect(transport.counters.oversized).toBe(1);
    });

    it('a listener that throws costs one message, not the transport', async () => {
      const { transport, peer, self } = await setUp();
      const seen: string[] = [];
      transport.setListener({
        onRequest: (req) => {
          seen.push(req.method);
          if (seen.length === 1) throw new Error('handler bug');
        },
        onResponse: () => undefined,
      });
      await peer.send(requestText({ transport: T, method: 'OPTIONS', to: self, via: peer.listening }), self);
      await until(() => transport.counters.droppedByReason['handler-error'] === 1, 2000, 'handler error counted');
      await peer.send(requestText({ transport: T, method: 'INFO', to: self, via: peer.listening }), self);
      await until(() => seen.length === 2, 2000, 'second request delivered');
      expect(seen).toEqual(['OPTIONS', 'INFO']);
    });

    it('ignores CRLF keep-alives (RFC 5626 §3.5.1): neither messages nor errors', async () => {
      const { transport, requests, peer, self } = await setUp();
      await peer.send('\r\n\r\n', self);
      await peer.send(requestText({ transport: T, to: self, via: peer.listening }), self);
      await until(() => requests.length === 1, 2000, 'request after keep-alive');
      expect(transport.counters.received).toBe(1);
      expect(transport.counters.dropped).toBe(0);
    });

    it('close() is idempotent, stops delivery, fails later sends with CLOSED and releases the port', async () => {
      const { transport, requests, peer, self } = await setUp();
      await peer.send(requestText({ transport: T, to: self, via: peer.listening }), self);
      await until(() => requests.length === 1, 2000, 'request before close');
      const first = transport.close();
      expect(transport.close()).toBe(first);
      await within(first, CLOSE_WITHIN_MS, 'close()');
      await within(transport.close(), CLOSE_WITHIN_MS, 'second close()');

      const errors: Error[] = [];
      transport.sendRequest(request({ transport: T, to: peer.listening, via: self }), { transport: T, ...peer.listening }, (e) => errors.push(e));
      transport.sendResponse(createResponse(requests[0]!.req, 200, undefined, { toTag: 'late' }), requests[0]!.source, (e) => errors.push(e));
      expect(errors.map(codeOf)).toEqual(['CLOSED', 'CLOSED']);
      expect(transport.counters.sendErrors).toBe(2);

      // The port is free again: a new transport binds it, and the closed one delivers nothing more.
      const again = await adapter.start({ port: self.port });
      cleanup.push(() => within(again.close(), CLOSE_WITHIN_MS, 'transport close()'));
      const later: SipRequest[] = [];
      again.setListener({ onRequest: (r) => later.push(r), onResponse: () => undefined });
      const fresh = await openPeer(self);
      await fresh.send(requestText({ transport: T, to: self, via: fresh.listening }), self);
      await until(() => later.length === 1, 2000, 'request at the new transport');
      expect(requests).toHaveLength(1);
      expect(peer.received).toHaveLength(0);
    });
  });
}
