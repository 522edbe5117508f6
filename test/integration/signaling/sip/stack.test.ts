/**
 * Two real SipStack instances on loopback (127.0.6.1 ↔ 127.0.6.2), over UDP and TCP,
 * plus a raw UDP peer (127.0.6.5) for the cases a well-behaved stack never produces.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  SipHeaders,
  createResponse,
  generateCallId,
  generateTag,
  getTag,
  parseSipMessage,
  serializeSipMessage,
} from '../../../../signaling/sip/message/index.js';
import type { Endpoint, SipRequest, SipResponse } from '../../../../signaling/sip/message/types.js';
import { SipStack, type ServerTransaction } from '../../../../signaling/sip/stack.js';

const A_ADDR = '127.0.6.1';
const B_ADDR = '127.0.6.2';
const RAW_ADDR = '127.0.6.5';
const TIMERS = { t1: 50, t2: 400, t4: 500 };

const until = async (cond: () => boolean, ms = 3000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
};

function newRequest(method: string, to: Endpoint, opts: { callId?: string; fromTag?: string; toTag?: string; cseq?: number } = {}): SipRequest {
  const h = new SipHeaders();
  h.append('From', `<sip:alice@${A_ADDR}>;tag=${opts.fromTag ?? generateTag()}`);
  h.append('To', `<sip:bob@${to.address}>${opts.toTag ? `;tag=${opts.toTag}` : ''}`);
  h.append('Call-ID', opts.callId ?? generateCallId(A_ADDR));
  h.append('CSeq', `${opts.cseq ?? 1} ${method}`);
  h.append('Contact', `<sip:alice@${A_ADDR}:5060;transport=${to.transport.toLowerCase()}>`);
  return { type: 'request', method, uri: `sip:bob@${to.address}:${to.port}`, version: 'SIP/2.0', headers: h, body: Buffer.alloc(0) };
}

interface Outcome {
  provisional: number[];
  final: SipResponse | undefined;
  timedOut: boolean;
  error: Error | undefined;
}

function send(stack: SipStack, req: SipRequest, dest: Endpoint) {
  const o: Outcome = { provisional: [], final: undefined, timedOut: false, error: undefined };
  const tx = stack.sendRequest(req, dest, {
    onProvisional: (r) => o.provisional.push(r.status),
    onFinal: (r) => (o.final = r),
    onTimeout: () => (o.timedOut = true),
    onTransportError: (e) => (o.error = e),
  });
  return { o, tx };
}

/** The ACK for a 2xx, built by the UAC from the dialog (RFC 3261 §13.2.2.4). */
function ackFor(invite: SipRequest, ok: SipResponse): SipRequest {
  const h = new SipHeaders();
  h.append('From', invite.headers.get('From')!);
  h.append('To', ok.headers.get('To')!);
  h.append('Call-ID', invite.headers.get('Call-ID')!);
  h.append('CSeq', `${invite.headers.get('CSeq')!.split(' ')[0]} ACK`);
  return { type: 'request', method: 'ACK', uri: invite.uri, version: 'SIP/2.0', headers: h, body: Buffer.alloc(0) };
}

describe('SipStack end to end', () => {
  let a: SipStack;
  let b: SipStack;
  const seenByB: { req: SipRequest; tx: ServerTransaction | null; source: Endpoint }[] = [];

  beforeAll(async () => {
    a = await SipStack.start({ address: A_ADDR, port: 5060, timers: TIMERS });
    b = await SipStack.start({ address: B_ADDR, port: 5060, timers: TIMERS });
    // B is a tiny UAS: INVITE to "bob" → 180 + 200; to "slow" → 180 and wait (to be cancelled); BYE → 200.
    b.onRequest((req, tx, source) => {
      seenByB.push({ req, tx, source });
      if (tx === null) return;
      const tag = 'b-' + generateTag();
      if (req.method === 'INVITE') {
        tx.respond(createResponse(req, 180, undefined, { toTag: tag }));
        if (req.uri.startsWith('sip:slow@')) {
          tx.onCancel(() => tx.respond(createResponse(req, 487, undefined, { toTag: tag })));
          return;
        }
        tx.respond(createResponse(req, 200, undefined, { toTag: tag, headers: [['Contact', `<sip:bob@${B_ADDR}:5060>`]] }));
        return;
      }
      tx.respond(createResponse(req, 200, undefined, { toTag: tag }));
    });
  });

  afterAll(async () => {
    await a?.close();
    await b?.close();
    await a?.close(); // idempotent
  });

  for (const transport of ['UDP', 'TCP'] as const) {
    it(`INVITE / 180 / 200 / ACK / BYE over ${transport}`, async () => {
      seenByB.length = 0;
      const dest = { ...b.localEndpoint(transport) };
      const invite = newRequest('INVITE', dest);
      const { o, tx } = send(a, invite, dest);
      await until(() => o.final !== undefined);
      expect(o.provisional).toEqual([100, 180]);
      expect(o.final!.status).toBe(200);
      expect(tx.state).toBe('Accepted');
      a.sendAck(ackFor(invite, o.final!), dest);
      await until(() => seenByB.some((s) => s.req.method === 'ACK'));
      const ack = seenByB.find((s) => s.req.method === 'ACK')!;
      expect(ack.tx).toBeNull();
      expect(ack.source.transport).toBe(transport);

      const toTag = getTag(o.final!.headers.get('To')!)!;
      const bye = newRequest('BYE', dest, {
        callId: invite.headers.get('Call-ID')!,
        fromTag: getTag(invite.headers.get('From')!)!,
        toTag,
        cseq: 2,
      });
      const byeResult = send(a, bye, dest);
      await until(() => byeResult.o.final !== undefined);
      expect(byeResult.o.final!.status).toBe(200);
      // The 2xx was ACKed, so B's retransmissions stop: no stray 2xx at A.
      await new Promise((r) => setTimeout(r, 300));
      expect(a.counters.stray2xx).toBe(0);
      expect(b.counters.ackTimeouts).toBe(0);
    });

    it(`CANCEL → 200 + 487 over ${transport}`, async () => {
      const dest = { ...b.localEndpoint(transport) };
      const invite = newRequest('INVITE', dest);
      invite.uri = `sip:slow@${B_ADDR}:${dest.port}`;
      const { o, tx } = send(a, invite, dest);
      a.cancel(tx); // queued until a provisional arrives (§9.1)
      await until(() => o.final !== undefined);
      expect(o.final!.status).toBe(487);
      expect(b.counters.cancelsReceived).toBeGreaterThan(0);
    });
  }

  it('answers a malformed datagram with 400 and keeps serving', async () => {
    const raw = createSocket('udp4');
    await new Promise<void>((r) => raw.bind(0, RAW_ADDR, () => r()));
    const got: SipResponse[] = [];
    raw.on('message', (m) => got.push(parseSipMessage(m) as SipResponse));
    try {
      const port = raw.address().port;
      const good = newRequest('OPTIONS', b.localEndpoint('UDP'));
      good.headers.prepend('Via', `SIP/2.0/UDP ${RAW_ADDR}:${port};branch=z9hG4bKraw1`);
      good.headers.set('Max-Forwards', '70');
      const bad = serializeSipMessage(good).toString().replace('Max-Forwards: 70', 'Max-Forwards: lots');
      raw.send(bad, 5060, B_ADDR);
      raw.send(Buffer.from([0xde, 0xad, 0xbe, 0xef]), 5060, B_ADDR);
      await until(() => got.length === 1);
      expect(got[0]!.status).toBe(400);
      good.headers.set('Via', `SIP/2.0/UDP ${RAW_ADDR}:${port};branch=z9hG4bKraw2`);
      raw.send(serializeSipMessage(good), 5060, B_ADDR);
      await until(() => got.length === 2);
      expect(got[1]!.status).toBe(200);
      expect(b.counters.badRequests).toBeGreaterThanOrEqual(1);
      expect(b.counters.dropped).toBeGreaterThanOrEqual(1);
    } finally {
      raw.close();
    }
  });

  it('retransmits an unACKed 2xx and stops when the ACK arrives; re-ACKs a retransmitted 2xx by itself', async () => {
    const raw: UdpSocket = createSocket('udp4');
    await new Promise<void>((r) => raw.bind(0, RAW_ADDR, () => r()));
    const fromB: SipResponse[] = [];
    const toRawRequests: SipRequest[] = [];
    raw.on('message', (m) => {
      const msg = parseSipMessage(m);
      if (msg.type === 'response') fromB.push(msg);
      else toRawRequests.push(msg);
    });
    try {
      const port = raw.address().port;
      // 1) raw UAC → B: B's 200 is retransmitted until our ACK.
      const inv = newRequest('INVITE', b.localEndpoint('UDP'));
      inv.headers.prepend('Via', `SIP/2.0/UDP ${RAW_ADDR}:${port};branch=z9hG4bKrawinv`);
      inv.headers.set('Max-Forwards', '70');
      raw.send(serializeSipMessage(inv), 5060, B_ADDR);
      await until(() => fromB.filter((r) => r.status === 200).length >= 3);
      const ok = fromB.find((r) => r.status === 200)!;
      const ack = ackFor(inv, ok);
      ack.headers.prepend('Via', `SIP/2.0/UDP ${RAW_ADDR}:${port};branch=z9hG4bKrawack`);
      ack.headers.set('Max-Forwards', '70');
      raw.send(serializeSipMessage(ack), 5060, B_ADDR);
      await new Promise((r) => setTimeout(r, 100));
      const count = fromB.length;
      await new Promise((r) => setTimeout(r, 500)); // > T2: a retransmission would have come
      expect(fromB.length).toBe(count);

      // 2) A → raw UAS: the raw UAS sends its 200 twice; A's TU ACKs once, the stack re-ACKs.
      const dest: Endpoint = { transport: 'UDP', address: RAW_ADDR, port };
      const invite = newRequest('INVITE', dest);
      let strays = 0;
      a.onStray2xx(() => strays++);
      const ackResentBefore = a.counters.ackResent;
      const { o } = send(a, invite, dest);
      await until(() => toRawRequests.length === 1);
      const ok2 = createResponse(toRawRequests[0]!, 200, undefined, { toTag: 'raw-uas' });
      raw.send(serializeSipMessage(ok2), 5060, A_ADDR);
      await until(() => o.final !== undefined);
      a.sendAck(ackFor(invite, o.final!), dest);
      await until(() => toRawRequests.length === 2);
      raw.send(serializeSipMessage(ok2), 5060, A_ADDR);
      await until(() => toRawRequests.length === 3);
      expect(toRawRequests.map((r) => r.method)).toEqual(['INVITE', 'ACK', 'ACK']);
      expect(a.counters.ackResent - ackResentBefore).toBe(1);
      expect(strays).toBe(0);
    } finally {
      raw.close();
    }
  });
});
