import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createResponse, getTag } from '../../../../../signaling/sip/message/index.js';
import { isMeshError } from '../../../../../regions/core/errors.js';
import { copyRequest, makeLayer, makeRequest, respond, UDP_PEER } from './fake-transport.js';

describe('server transaction matching (RFC 3261 §17.2.3)', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('same branch but a different sent-by or method is a different transaction', () => {
    const h = makeLayer();
    h.layer.receiveRequest(makeRequest({ method: 'OPTIONS', branch: 'z9hG4bKsame' }), UDP_PEER);
    h.layer.receiveRequest(makeRequest({ method: 'OPTIONS', branch: 'z9hG4bKsame', viaHost: '127.0.6.21' }), UDP_PEER);
    h.layer.receiveRequest(makeRequest({ method: 'OPTIONS', branch: 'z9hG4bKsame', viaPort: 5070 }), UDP_PEER);
    h.layer.receiveRequest(makeRequest({ method: 'INFO', branch: 'z9hG4bKsame' }), UDP_PEER);
    expect(h.requests).toHaveLength(4);
    expect(h.layer.counters.serverTransactions).toBe(4);
    // sent-by port 5060 written or implied is the same sent-by
    const implicit = makeRequest({ method: 'OPTIONS', branch: 'z9hG4bKsame' });
    implicit.headers.set('Via', 'SIP/2.0/UDP 127.0.6.20;branch=z9hG4bKsame');
    h.layer.receiveRequest(implicit, UDP_PEER);
    expect(h.requests).toHaveLength(4);
  });

  it('RFC 2543 requests (no magic cookie) match by Request-URI, tags, Call-ID, CSeq and Via', () => {
    const h = makeLayer();
    const inv = makeRequest({ branch: 'oldstyle1' });
    h.layer.receiveRequest(inv, UDP_PEER);
    h.layer.receiveRequest(copyRequest(inv), UDP_PEER);
    expect(h.requests).toHaveLength(1);
    expect(h.transport.statuses()).toEqual([100, 100]);
    const tx = h.requests[0]!.tx!;
    tx.respond(createResponse(inv, 480, undefined, { toTag: 'b' }));
    const ack = copyRequest(inv, 'ACK');
    ack.headers.set('CSeq', '1 ACK');
    ack.headers.set('To', `${inv.headers.get('To')!};tag=b`);
    h.layer.receiveRequest(ack, UDP_PEER);
    expect(tx.state).toBe('Confirmed');
    const other = copyRequest(inv);
    other.headers.set('CSeq', '2 INVITE');
    h.layer.receiveRequest(other, UDP_PEER);
    expect(h.requests).toHaveLength(2);
  });

  it('an ACK matching nothing is handed to the TU with tx null', () => {
    const h = makeLayer();
    h.layer.receiveRequest(makeRequest({ method: 'ACK', toTag: 'x' }), UDP_PEER);
    expect(h.requests).toHaveLength(1);
    expect(h.requests[0]!.tx).toBeNull();
    expect(h.layer.size).toBe(0);
  });
});

describe('client transaction matching (RFC 3261 §17.1.3)', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('matches by branch and CSeq method; other responses are strays', () => {
    const h = makeLayer();
    const req = makeRequest({ method: 'OPTIONS', branch: 'z9hG4bKcli' });
    const finals: number[] = [];
    h.layer.sendRequest(req, UDP_PEER, { onFinal: (r) => finals.push(r.status), onTimeout: () => undefined, onTransportError: () => undefined });
    const wrongMethod = respond(req, 200, 't');
    wrongMethod.headers.set('CSeq', '1 INFO');
    h.layer.receiveResponse(wrongMethod, UDP_PEER);
    const wrongBranch = respond(makeRequest({ method: 'OPTIONS', branch: 'z9hG4bKother' }), 200, 't');
    h.layer.receiveResponse(wrongBranch, UDP_PEER);
    expect(finals).toEqual([]);
    expect(h.layer.counters.strayResponses).toBe(2);
    h.layer.receiveResponse(respond(req, 200, 't'), UDP_PEER);
    expect(finals).toEqual([200]);
  });

  it('refuses a second live transaction on the same branch and requests without a branch', () => {
    const h = makeLayer();
    const cb = { onFinal: () => undefined, onTimeout: () => undefined, onTransportError: () => undefined };
    h.layer.sendRequest(makeRequest({ method: 'OPTIONS', branch: 'z9hG4bKdup' }), UDP_PEER, cb);
    expect(() => h.layer.sendRequest(makeRequest({ method: 'OPTIONS', branch: 'z9hG4bKdup' }), UDP_PEER, cb)).toThrow();
    const noBranch = makeRequest({ method: 'OPTIONS' });
    noBranch.headers.set('Via', 'SIP/2.0/UDP 127.0.6.20:5060');
    expect(() => h.layer.sendRequest(noBranch, UDP_PEER, cb)).toThrow();
  });
});

describe('CANCEL on the server side (RFC 3261 §9.2)', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  function cancelOf(inv: ReturnType<typeof makeRequest>) {
    const c = copyRequest(inv, 'CANCEL');
    c.headers.set('CSeq', '1 CANCEL');
    return c;
  }

  it('answers 200 itself with the INVITE To tag, notifies the TU, and the TU sends 487', () => {
    const h = makeLayer();
    const inv = makeRequest();
    h.layer.receiveRequest(inv, UDP_PEER);
    const tx = h.requests[0]!.tx!;
    let cancelled = 0;
    tx.onCancel(() => {
      cancelled++;
      tx.respond(createResponse(inv, 487, undefined, { toTag: 'uas' }));
    });
    tx.respond(createResponse(inv, 180, undefined, { toTag: 'uas' }));
    h.layer.receiveRequest(cancelOf(inv), UDP_PEER);
    expect(cancelled).toBe(1);
    expect(tx.isCancelled).toBe(true);
    const sent = h.transport.responses.map((r) => `${r.res.status} ${r.res.headers.get('CSeq')}`);
    expect(sent).toEqual(['100 1 INVITE', '180 1 INVITE', '200 1 CANCEL', '487 1 INVITE']);
    expect(getTag(h.transport.responses[2]!.res.headers.get('To')!)).toBe('uas');
    expect(h.requests).toHaveLength(1); // CANCEL never reaches onRequest
    // A retransmitted CANCEL is answered by its own transaction, the TU is not told again.
    h.layer.receiveRequest(cancelOf(inv), UDP_PEER);
    expect(cancelled).toBe(1);
    expect(h.transport.statuses().slice(-1)).toEqual([200]);
  });

  it('sends 487 by itself when the TU registered no cancel handler', () => {
    const h = makeLayer();
    const inv = makeRequest();
    h.layer.receiveRequest(inv, UDP_PEER);
    h.layer.receiveRequest(cancelOf(inv), UDP_PEER);
    expect(h.transport.statuses()).toEqual([100, 200, 487]);
    expect(h.requests[0]!.tx!.state).toBe('Completed');
  });

  it('has no effect after a final response, but the CANCEL still gets 200', () => {
    const h = makeLayer();
    const inv = makeRequest();
    h.layer.receiveRequest(inv, UDP_PEER);
    const tx = h.requests[0]!.tx!;
    let cancelled = 0;
    tx.onCancel(() => cancelled++);
    tx.respond(createResponse(inv, 200, undefined, { toTag: 'uas' }));
    h.layer.receiveRequest(cancelOf(inv), UDP_PEER);
    expect(cancelled).toBe(0);
    expect(tx.isCancelled).toBe(false);
    expect(h.transport.statuses()).toEqual([100, 200, 200]);
  });

  it('answers 481 when no INVITE transaction matches', () => {
    const h = makeLayer();
    h.layer.receiveRequest(cancelOf(makeRequest()), UDP_PEER);
    expect(h.transport.statuses()).toEqual([481]);
    expect(getTag(h.transport.responses[0]!.res.headers.get('To')!)).toBeDefined();
    expect(h.layer.counters.noMatch481).toBe(1);
  });
});

describe('limits and shutdown', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('answers 503 with Retry-After beyond maxTransactions and refuses new client transactions', () => {
    const h = makeLayer({ maxTransactions: 2 });
    h.layer.receiveRequest(makeRequest(), UDP_PEER);
    h.layer.receiveRequest(makeRequest({ method: 'OPTIONS' }), UDP_PEER);
    h.layer.receiveRequest(makeRequest({ method: 'OPTIONS' }), UDP_PEER);
    expect(h.requests).toHaveLength(2);
    const last = h.transport.responses.at(-1)!.res;
    expect(last.status).toBe(503);
    expect(last.headers.get('Retry-After')).toBe('5');
    expect(h.layer.counters.rejectedOverload).toBe(1);
    let err: unknown;
    try {
      h.layer.sendRequest(makeRequest({ method: 'OPTIONS' }), UDP_PEER, {
        onFinal: () => undefined,
        onTimeout: () => undefined,
        onTransportError: () => undefined,
      });
    } catch (e) {
      err = e;
    }
    expect(isMeshError(err, 'SERVICE_UNAVAILABLE')).toBe(true);
  });

  it('close() terminates everything, clears every timer, fails waiting client transactions with CLOSED, is idempotent', () => {
    const h = makeLayer();
    const errors: unknown[] = [];
    const cb = { onFinal: () => undefined, onTimeout: () => undefined, onTransportError: (e: Error) => errors.push(e) };
    h.layer.sendRequest(makeRequest(), UDP_PEER, cb);
    h.layer.sendRequest(makeRequest({ method: 'BYE' }), UDP_PEER, cb);
    const inv = makeRequest();
    h.layer.receiveRequest(inv, UDP_PEER);
    h.requests[0]!.tx!.respond(createResponse(inv, 200, undefined, { toTag: 'x' }));
    expect(vi.getTimerCount()).toBeGreaterThan(0);
    h.layer.close();
    h.layer.close();
    expect(vi.getTimerCount()).toBe(0);
    expect(h.layer.size).toBe(0);
    expect(errors.every((e) => isMeshError(e, 'CLOSED'))).toBe(true);
    expect(errors).toHaveLength(2);
    expect(() => h.layer.sendRequest(makeRequest(), UDP_PEER, cb)).toThrow();
    h.layer.receiveRequest(makeRequest(), UDP_PEER); // ignored, no crash
    expect(h.requests).toHaveLength(1);
  });

  it('keeps up with many concurrent transactions (map lookups, no scans)', () => {
    vi.useRealTimers();
    const h = makeLayer();
    const n = 5000;
    const start = performance.now();
    for (let i = 0; i < n; i++) h.layer.receiveRequest(makeRequest({ method: 'OPTIONS' }), UDP_PEER);
    for (const r of h.requests) r.tx!.respond(createResponse(r.req, 200, undefined, { toTag: 't' }));
    const elapsed = performance.now() - start;
    expect(h.layer.counters.serverTransactions).toBe(n);
    expect(elapsed).toBeLessThan(1500);
    h.layer.close();
    expect(h.layer.size).toBe(0);
  });
});
