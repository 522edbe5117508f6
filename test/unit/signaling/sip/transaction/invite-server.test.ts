import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createResponse } from '../../../../../signaling/sip/message/index.js';
import type { ServerTransaction } from '../../../../../signaling/sip/transaction/types.js';
import { ackFor2xx, copyRequest, makeLayer, makeRequest, TCP_PEER, UDP_PEER } from './fake-transport.js';

function responseTimes(h: ReturnType<typeof makeLayer>, until: number): number[] {
  const times: number[] = [];
  let last = h.transport.responses.length;
  for (let t = 1; t <= until; t++) {
    vi.advanceTimersByTime(1);
    if (h.transport.responses.length > last) {
      last = h.transport.responses.length;
      times.push(t);
    }
  }
  return times;
}

function serverTx(h: ReturnType<typeof makeLayer>): ServerTransaction {
  const tx = h.requests.at(-1)?.tx;
  if (!tx) throw new Error('no server transaction');
  return tx;
}

describe('INVITE server transaction (RFC 3261 §17.2.1, RFC 6026)', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('sends 100 Trying at once and answers a retransmitted INVITE with the latest response', () => {
    const h = makeLayer();
    const inv = makeRequest();
    h.layer.receiveRequest(inv, UDP_PEER);
    expect(h.transport.statuses()).toEqual([100]);
    expect(h.transport.responses[0]!.res.headers.get('To')).toBe(inv.headers.get('To')); // no tag on 100
    expect(h.requests).toHaveLength(1);
    const tx = serverTx(h);
    expect(tx.state).toBe('Proceeding');
    h.layer.receiveRequest(copyRequest(inv), UDP_PEER);
    expect(h.transport.statuses()).toEqual([100, 100]);
    tx.respond(createResponse(inv, 180, undefined, { toTag: 'b' }));
    h.layer.receiveRequest(copyRequest(inv), UDP_PEER);
    expect(h.transport.statuses()).toEqual([100, 100, 180, 180]);
    expect(h.requests).toHaveLength(1); // retransmissions never reach the TU
  });

  it('non-2xx final: Timer G doubles to T2, Timer H gives up at 64*T1', () => {
    const h = makeLayer();
    const inv = makeRequest();
    h.layer.receiveRequest(inv, UDP_PEER);
    const tx = serverTx(h);
    let terminated = 0;
    tx.onTerminated = () => terminated++;
    tx.respond(createResponse(inv, 486, undefined, { toTag: 'b' }));
    expect(tx.state).toBe('Completed');
    const times = responseTimes(h, 32000);
    expect(times.slice(0, 6)).toEqual([500, 1500, 3500, 7500, 11500, 15500]);
    expect(times.at(-1)).toBe(31500);
    expect(tx.state).toBe('Terminated');
    expect(terminated).toBe(1);
    expect(h.layer.counters.timeouts).toBe(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('ACK for the non-2xx → Confirmed, absorbed, Timer I = T4', () => {
    const h = makeLayer();
    const inv = makeRequest();
    h.layer.receiveRequest(inv, UDP_PEER);
    const tx = serverTx(h);
    tx.respond(createResponse(inv, 603, undefined, { toTag: 'b' }));
    vi.advanceTimersByTime(600); // one Timer G retransmission
    expect(h.transport.statuses()).toEqual([100, 603, 603]);
    const ack = copyRequest(inv, 'ACK');
    ack.headers.set('CSeq', '1 ACK');
    h.layer.receiveRequest(ack, UDP_PEER);
    expect(tx.state).toBe('Confirmed');
    expect(h.requests).toHaveLength(1); // the ACK did not reach the TU
    h.layer.receiveRequest(copyRequest(ack), UDP_PEER); // ACK retransmission absorbed
    expect(h.requests).toHaveLength(1);
    vi.advanceTimersByTime(4999);
    expect(tx.state).toBe('Confirmed');
    expect(h.transport.statuses()).toEqual([100, 603, 603]);
    vi.advanceTimersByTime(1);
    expect(tx.state).toBe('Terminated');
  });

  it('on TCP: no Timer G, and the ACK ends the transaction at once (Timer I = 0)', () => {
    const h = makeLayer();
    const inv = makeRequest({ transport: 'TCP' });
    h.layer.receiveRequest(inv, TCP_PEER);
    const tx = serverTx(h);
    tx.respond(createResponse(inv, 486, undefined, { toTag: 'b' }));
    vi.advanceTimersByTime(10000);
    expect(h.transport.statuses()).toEqual([100, 486]);
    const ack = copyRequest(inv, 'ACK');
    ack.headers.set('CSeq', '1 ACK');
    h.layer.receiveRequest(ack, TCP_PEER);
    expect(tx.state).toBe('Terminated');
  });

  it('2xx → Accepted: retransmits the 2xx (T1 doubling to T2) until the ACK, which goes to the TU with tx null', () => {
    const h = makeLayer();
    const inv = makeRequest();
    h.layer.receiveRequest(inv, UDP_PEER);
    const tx = serverTx(h);
    tx.respond(createResponse(inv, 200, undefined, { toTag: 'b' }));
    expect(tx.state).toBe('Accepted');
    const times = responseTimes(h, 12000);
    expect(times).toEqual([500, 1500, 3500, 7500, 11500]);
    // INVITE retransmission in Accepted is absorbed (RFC 6026 §8.7).
    const before = h.transport.responses.length;
    h.layer.receiveRequest(copyRequest(inv), UDP_PEER);
    expect(h.transport.responses.length).toBe(before);
    // ACK with its own branch is matched by dialog (§13.3.1.4).
    h.layer.receiveRequest(ackFor2xx(inv, 'b', 'z9hG4bKack1'), UDP_PEER);
    expect(h.requests.map((r) => [r.req.method, r.tx === null])).toEqual([
      ['INVITE', false],
      ['ACK', true],
    ]);
    vi.advanceTimersByTime(19999);
    expect(h.transport.responses.length).toBe(before); // retransmissions stopped
    expect(tx.state).toBe('Accepted');
    vi.advanceTimersByTime(1); // Timer L = 64*T1 = 32000 from the 2xx
    expect(tx.state).toBe('Terminated');
    expect(h.layer.counters.ackTimeouts).toBe(0);
  });

  it('retransmits the 2xx on TCP as well (§13.3.1.4) and reports onAckTimeout after 64*T1', () => {
    const h = makeLayer();
    const inv = makeRequest({ transport: 'TCP' });
    h.layer.receiveRequest(inv, TCP_PEER);
    const tx = serverTx(h);
    let ackTimeouts = 0;
    tx.onAckTimeout(() => ackTimeouts++);
    tx.respond(createResponse(inv, 200, undefined, { toTag: 'b' }));
    const times = responseTimes(h, 32000);
    expect(times.slice(0, 4)).toEqual([500, 1500, 3500, 7500]);
    expect(ackTimeouts).toBe(1);
    expect(tx.state).toBe('Terminated');
    expect(h.layer.counters.ackTimeouts).toBe(1);
    expect(vi.getTimerCount()).toBe(0);
    // A late ACK still reaches the TU (it decides what to do with it).
    h.layer.receiveRequest(ackFor2xx(inv, 'b', 'z9hG4bKlate'), TCP_PEER);
    expect(h.requests.at(-1)!.req.method).toBe('ACK');
  });

  it('an ACK reusing the INVITE branch in Accepted also stops the 2xx retransmissions', () => {
    const h = makeLayer();
    const inv = makeRequest();
    h.layer.receiveRequest(inv, UDP_PEER);
    const tx = serverTx(h);
    tx.respond(createResponse(inv, 200, undefined, { toTag: 'b' }));
    const ack = copyRequest(inv, 'ACK');
    ack.headers.set('CSeq', '1 ACK');
    h.layer.receiveRequest(ack, UDP_PEER);
    expect(h.requests.at(-1)!.tx).toBeNull();
    vi.advanceTimersByTime(10000);
    expect(h.transport.statuses()).toEqual([100, 200]);
  });

  it('responses after the final are ignored and counted', () => {
    const h = makeLayer();
    const inv = makeRequest();
    h.layer.receiveRequest(inv, UDP_PEER);
    const tx = serverTx(h);
    tx.respond(createResponse(inv, 404, undefined, { toTag: 'b' }));
    tx.respond(createResponse(inv, 200, undefined, { toTag: 'b' }));
    expect(h.transport.statuses()).toEqual([100, 404]);
    expect(h.layer.counters.lateResponses).toBe(1);
  });
});

describe('INVITEs in flight (admission control gauge)', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('counts INVITE server transactions until their final response, whichever way they leave Proceeding', () => {
    const h = makeLayer();
    const a = makeRequest({ branch: 'z9hG4bK-a', callId: 'call-a' });
    const b = makeRequest({ branch: 'z9hG4bK-b', callId: 'call-b' });
    const c = makeRequest({ branch: 'z9hG4bK-c', callId: 'call-c' });
    h.layer.receiveRequest(a, UDP_PEER);
    const txA = serverTx(h);
    h.layer.receiveRequest(b, UDP_PEER);
    const txB = serverTx(h);
    h.layer.receiveRequest(c, UDP_PEER);
    const txC = serverTx(h);
    expect(h.layer.counters.invitesProceeding).toBe(3);
    txA.respond(createResponse(a, 180, undefined, { toTag: 'x' }));
    expect(h.layer.counters.invitesProceeding).toBe(3); // ringing is still in flight
    txA.respond(createResponse(a, 200, undefined, { toTag: 'x' }));
    txB.respond(createResponse(b, 503, undefined, { toTag: 'y' }));
    expect(h.layer.counters.invitesProceeding).toBe(1);
    (txC as unknown as { terminate(): void }).terminate(); // e.g. a transport error
    expect(h.layer.counters.invitesProceeding).toBe(0);
    vi.advanceTimersByTime(64_000);
    expect(h.layer.counters.invitesProceeding).toBe(0); // never below zero on later transitions
  });
});
