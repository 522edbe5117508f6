import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { getTag, parseCSeq, parseVia } from '../../../../../signaling/sip/message/index.js';
import type { SipResponse } from '../../../../../signaling/sip/message/types.js';
import { makeLayer, makeRequest, respond, TCP_PEER, UDP_PEER } from './fake-transport.js';

function callbacks() {
  return {
    provisional: [] as SipResponse[],
    finals: [] as SipResponse[],
    timeouts: 0,
    errors: [] as Error[],
    cb: undefined as unknown as Parameters<ReturnType<typeof makeLayer>['layer']['sendRequest']>[2],
  };
}

function track() {
  const c = callbacks();
  c.cb = {
    onProvisional: (r) => c.provisional.push(r),
    onFinal: (r) => c.finals.push(r),
    onTimeout: () => c.timeouts++,
    onTransportError: (e) => c.errors.push(e),
  };
  return c;
}

describe('INVITE client transaction (RFC 3261 §17.1.1, RFC 6026)', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('retransmits on UDP with Timer A doubling from T1 and times out with Timer B = 64*T1', () => {
    const h = makeLayer();
    const c = track();
    const tx = h.layer.sendRequest(makeRequest(), UDP_PEER, c.cb);
    expect(h.transport.requests).toHaveLength(1);
    const sendTimes: number[] = [0];
    let last = 1;
    for (let t = 1; t <= 32000; t++) {
      vi.advanceTimersByTime(1);
      if (h.transport.requests.length > last) {
        last = h.transport.requests.length;
        sendTimes.push(t);
      }
    }
    // A: 500, 1000, 2000, 4000, 8000, 16000 (no T2 cap for INVITE)
    expect(sendTimes).toEqual([0, 500, 1500, 3500, 7500, 15500, 31500]);
    expect(c.timeouts).toBe(1);
    expect(tx.state).toBe('Terminated');
    expect(h.layer.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('honours a configured T1', () => {
    const h = makeLayer({ timers: { t1: 100 } });
    const c = track();
    h.layer.sendRequest(makeRequest(), UDP_PEER, c.cb);
    vi.advanceTimersByTime(99);
    expect(h.transport.requests).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(h.transport.requests).toHaveLength(2);
    vi.advanceTimersByTime(6400 - 100);
    expect(c.timeouts).toBe(1);
  });

  it('does not retransmit on TCP but still times out (Timer B)', () => {
    const h = makeLayer();
    const c = track();
    h.layer.sendRequest(makeRequest({ transport: 'TCP' }), TCP_PEER, c.cb);
    vi.advanceTimersByTime(31999);
    expect(h.transport.requests).toHaveLength(1);
    expect(c.timeouts).toBe(0);
    vi.advanceTimersByTime(1);
    expect(c.timeouts).toBe(1);
  });

  it('a provisional stops Timer A and B and reaches the TU', () => {
    const h = makeLayer();
    const c = track();
    const inv = makeRequest();
    const tx = h.layer.sendRequest(inv, UDP_PEER, c.cb);
    h.layer.receiveResponse(respond(inv, 180, 'uas'), UDP_PEER);
    expect(tx.state).toBe('Proceeding');
    expect(tx.hasProvisional).toBe(true);
    expect(c.provisional.map((r) => r.status)).toEqual([180]);
    vi.advanceTimersByTime(60000);
    expect(h.transport.requests).toHaveLength(1);
    expect(c.timeouts).toBe(0);
  });

  it('bounds Proceeding with the configurable Timer C', () => {
    const h = makeLayer({ timers: { timerC: 10000 } });
    const c = track();
    const inv = makeRequest();
    h.layer.sendRequest(inv, UDP_PEER, c.cb);
    h.layer.receiveResponse(respond(inv, 180, 'uas'), UDP_PEER);
    vi.advanceTimersByTime(9999);
    expect(c.timeouts).toBe(0);
    vi.advanceTimersByTime(1);
    expect(c.timeouts).toBe(1);
    expect(h.layer.size).toBe(0);
  });

  it('ACKs a non-2xx final inside the transaction (§17.1.1.3), absorbs retransmissions, ends after Timer D', () => {
    const h = makeLayer();
    const c = track();
    const inv = makeRequest();
    const tx = h.layer.sendRequest(inv, UDP_PEER, c.cb);
    const busy = respond(inv, 486, 'uas-tag');
    h.layer.receiveResponse(busy, UDP_PEER);
    expect(tx.state).toBe('Completed');
    expect(c.finals.map((r) => r.status)).toEqual([486]);
    const ack = h.transport.requests[1]!.req;
    expect(ack.method).toBe('ACK');
    expect(ack.uri).toBe(inv.uri);
    expect(ack.headers.getList('Via')).toEqual([inv.headers.getList('Via')[0]]);
    expect(getTag(ack.headers.get('To')!)).toBe('uas-tag');
    expect(ack.headers.get('From')).toBe(inv.headers.get('From'));
    expect(ack.headers.get('Call-ID')).toBe(inv.headers.get('Call-ID'));
    expect(parseCSeq(ack.headers.get('CSeq')!)).toEqual({ seq: 1, method: 'ACK' });
    expect(ack.headers.getAll('Route')).toEqual(inv.headers.getAll('Route'));

    h.layer.receiveResponse(respond(inv, 486, 'uas-tag'), UDP_PEER);
    expect(h.transport.methods()).toEqual(['INVITE', 'ACK', 'ACK']);
    expect(c.finals).toHaveLength(1);
    // No more INVITE retransmissions after the final.
    vi.advanceTimersByTime(31999);
    expect(h.transport.methods()).toEqual(['INVITE', 'ACK', 'ACK']);
    expect(tx.state).toBe('Completed');
    vi.advanceTimersByTime(1);
    expect(tx.state).toBe('Terminated');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('terminates at once after a non-2xx on TCP (Timer D = 0)', () => {
    const h = makeLayer();
    const c = track();
    const inv = makeRequest({ transport: 'TCP' });
    const tx = h.layer.sendRequest(inv, TCP_PEER, c.cb);
    h.layer.receiveResponse(respond(inv, 404, 'x'), TCP_PEER);
    expect(h.transport.methods()).toEqual(['INVITE', 'ACK']);
    expect(tx.state).toBe('Terminated');
    expect(c.finals).toHaveLength(1);
  });

  it('2xx → Accepted: passed up once, later 2xx go to the stray path, Timer M ends it', () => {
    const h = makeLayer();
    const c = track();
    const inv = makeRequest();
    const tx = h.layer.sendRequest(inv, UDP_PEER, c.cb);
    h.layer.receiveResponse(respond(inv, 200, 'ok'), UDP_PEER);
    expect(tx.state).toBe('Accepted');
    expect(c.finals.map((r) => r.status)).toEqual([200]);
    expect(h.transport.methods()).toEqual(['INVITE']); // the 2xx ACK belongs to the TU
    h.layer.receiveResponse(respond(inv, 200, 'ok'), UDP_PEER);
    expect(c.finals).toHaveLength(1);
    expect(h.stray).toHaveLength(1);
    vi.advanceTimersByTime(32000);
    expect(tx.state).toBe('Terminated');
    // After the transaction is gone a 2xx is still handed to the TU to re-ACK (§13.2.2.4).
    h.layer.receiveResponse(respond(inv, 200, 'ok'), UDP_PEER);
    expect(h.stray).toHaveLength(2);
    expect(h.layer.counters.stray2xx).toBe(2);
  });

  it('reports a transport error and terminates', async () => {
    const h = makeLayer();
    const c = track();
    h.transport.failWith = new Error('ECONNREFUSED');
    const tx = h.layer.sendRequest(makeRequest(), UDP_PEER, c.cb);
    await vi.advanceTimersByTimeAsync(1);
    expect(c.errors.map((e) => e.message)).toEqual(['ECONNREFUSED']);
    expect(tx.state).toBe('Terminated');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a TU callback that throws does not break the state machine', () => {
    const h = makeLayer();
    const inv = makeRequest();
    const tx = h.layer.sendRequest(inv, UDP_PEER, {
      onFinal: () => {
        throw new Error('tu bug');
      },
      onTimeout: () => undefined,
      onTransportError: () => undefined,
    });
    h.layer.receiveResponse(respond(inv, 500, 't'), UDP_PEER);
    expect(tx.state).toBe('Completed');
    expect(h.transport.methods()).toEqual(['INVITE', 'ACK']);
    expect(h.layer.counters.tuErrors).toBe(1);
  });
});

describe('CANCEL from the client side (RFC 3261 §9.1)', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('waits for a provisional, then sends CANCEL with the INVITE branch in its own transaction', () => {
    const h = makeLayer();
    const c = track();
    const inv = makeRequest();
    const tx = h.layer.sendRequest(inv, UDP_PEER, c.cb);
    expect(h.layer.cancel(tx)).toBe(true);
    expect(h.transport.methods()).toEqual(['INVITE']);
    h.layer.receiveResponse(respond(inv, 100), UDP_PEER);
    expect(h.transport.methods()).toEqual(['INVITE', 'CANCEL']);
    const cancel = h.transport.requests[1]!.req;
    expect(cancel.uri).toBe(inv.uri);
    expect(parseVia(cancel.headers.getList('Via')[0]!).params.get('branch')).toBe(
      parseVia(inv.headers.getList('Via')[0]!).params.get('branch'),
    );
    expect(cancel.headers.get('To')).toBe(inv.headers.get('To'));
    expect(parseCSeq(cancel.headers.get('CSeq')!)).toEqual({ seq: 1, method: 'CANCEL' });
    expect(h.layer.counters.clientTransactions).toBe(2);

    // 200 to the CANCEL matches the CANCEL transaction, not the INVITE (CSeq method differs).
    h.layer.receiveResponse(respond(cancel, 200, 'x'), UDP_PEER);
    expect(c.finals).toHaveLength(0);
    h.layer.receiveResponse(respond(inv, 487, 'x'), UDP_PEER);
    expect(c.finals.map((r) => r.status)).toEqual([487]);
    expect(h.transport.methods()).toEqual(['INVITE', 'CANCEL', 'ACK']);
  });

  it('sends nothing once a final arrived', () => {
    const h = makeLayer();
    const c = track();
    const inv = makeRequest();
    const tx = h.layer.sendRequest(inv, UDP_PEER, c.cb);
    h.layer.cancel(tx);
    h.layer.receiveResponse(respond(inv, 200, 'x'), UDP_PEER);
    expect(h.layer.cancel(tx)).toBe(false);
    expect(h.transport.methods()).toEqual(['INVITE']);
  });

  it('gives the INVITE up 64*T1 after the CANCEL when no final arrives', () => {
    const h = makeLayer();
    const c = track();
    const inv = makeRequest();
    const tx = h.layer.sendRequest(inv, UDP_PEER, c.cb);
    h.layer.receiveResponse(respond(inv, 180, 'x'), UDP_PEER);
    h.layer.cancel(tx);
    vi.advanceTimersByTime(31999);
    expect(c.timeouts).toBe(0);
    vi.advanceTimersByTime(1);
    expect(c.timeouts).toBe(1);
    expect(tx.state).toBe('Terminated');
  });
});
