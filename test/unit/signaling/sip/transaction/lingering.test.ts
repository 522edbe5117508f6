import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createResponse } from '../../../../../signaling/sip/message/index.js';
import { ackFor2xx, copyRequest, makeLayer, makeRequest, respond, UDP_PEER } from './fake-transport.js';

describe('lingering transactions (past their final response) are not what maxTransactions bounds', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('a transaction that answered lingers (counted) until its timer, and meanwhile does not make a full layer refuse', () => {
    const h = makeLayer({ maxTransactions: 1 });
    h.layer.receiveRequest(makeRequest({ method: 'OPTIONS', branch: 'z9hG4bKl1' }), UDP_PEER);
    expect(h.layer.activeSize).toBe(1);
    // Full: a second request while the first still works gets 503.
    h.layer.receiveRequest(makeRequest({ method: 'OPTIONS', branch: 'z9hG4bKl2' }), UDP_PEER);
    expect(h.transport.statuses()).toEqual([503]);
    const first = h.requests[0]!;
    first.tx!.respond(createResponse(first.req, 200, 'OK', { toTag: 't1' }));
    expect(h.layer.counters.lingering).toBe(1);
    expect(h.layer.activeSize).toBe(0);
    expect(h.layer.size).toBe(1);
    // Lingering (Timer J, 64*T1) it still answers retransmissions, and no longer blocks new work.
    h.layer.receiveRequest(makeRequest({ method: 'OPTIONS', branch: 'z9hG4bKl3' }), UDP_PEER);
    expect(h.requests).toHaveLength(2);
    h.requests[1]!.tx!.respond(createResponse(h.requests[1]!.req, 200, 'OK', { toTag: 't3' }));
    expect(h.layer.counters.lingering).toBe(2);
    vi.advanceTimersByTime(64 * 500 + 1);
    expect(h.layer.counters.lingering).toBe(0);
    expect(h.layer.size).toBe(0);
  });

  it('an INVITE answered 486 lingers through Completed and Confirmed, counted once, until Timer I', () => {
    const h = makeLayer();
    const inv = makeRequest({ branch: 'z9hG4bKl4' });
    h.layer.receiveRequest(inv, UDP_PEER);
    h.requests[0]!.tx!.respond(createResponse(inv, 486, 'Busy Here', { toTag: 'b' }));
    expect(h.layer.counters.lingering).toBe(1);
    const ack = makeRequest({ method: 'ACK', branch: 'z9hG4bKl4', toTag: 'b' });
    ack.headers.set('CSeq', '1 ACK');
    h.layer.receiveRequest(ack, UDP_PEER);
    expect(h.requests[0]!.tx!.state).toBe('Confirmed');
    expect(h.layer.counters.lingering).toBe(1);
    vi.advanceTimersByTime(5000 + 1);
    expect(h.layer.counters.lingering).toBe(0);
    expect(h.layer.size).toBe(0);
  });

  describe('a shorter linger for the per-call transactions (timers.linger)', () => {
    it('a BYE server transaction lingers `linger`, another method 64*T1', () => {
      const h = makeLayer({ timers: { linger: 5000 } });
      const bye = makeRequest({ method: 'BYE', toTag: 'b' });
      const options = makeRequest({ method: 'OPTIONS' });
      h.layer.receiveRequest(bye, UDP_PEER);
      h.layer.receiveRequest(options, UDP_PEER);
      const [byeTx, optionsTx] = h.requests.map((r) => r.tx!);
      byeTx!.respond(createResponse(bye, 200));
      optionsTx!.respond(createResponse(options, 200));
      // Within the linger a retransmitted BYE gets the 200 again from the transaction.
      vi.advanceTimersByTime(4999);
      h.layer.receiveRequest(copyRequest(bye), UDP_PEER);
      expect(h.transport.statuses()).toEqual([200, 200, 200]);
      vi.advanceTimersByTime(1);
      expect(byeTx!.state).toBe('Terminated');
      expect(optionsTx!.state).toBe('Completed');
      // Past it, the BYE is new again: it goes to the TU (whose ended leg answers it).
      h.layer.receiveRequest(copyRequest(bye), UDP_PEER);
      expect(h.requests).toHaveLength(3);
      vi.advanceTimersByTime(32000 - 5000);
      expect(optionsTx!.state).toBe('Terminated');
    });

    it('an INVITE server transaction lingers `linger` from the ACK; without an ACK it still waits 64*T1', () => {
      const h = makeLayer({ timers: { linger: 5000 } });
      const acked = makeRequest();
      const unacked = makeRequest();
      h.layer.receiveRequest(acked, UDP_PEER);
      h.layer.receiveRequest(unacked, UDP_PEER);
      const [ackedTx, unackedTx] = h.requests.map((r) => r.tx!);
      ackedTx!.respond(createResponse(acked, 200, undefined, { toTag: 'x' }));
      unackedTx!.respond(createResponse(unacked, 200, undefined, { toTag: 'y' }));
      vi.advanceTimersByTime(1000);
      h.layer.receiveRequest(ackFor2xx(acked, 'x', 'z9hG4bKlingerack'), UDP_PEER);
      vi.advanceTimersByTime(4999);
      expect(ackedTx!.state).toBe('Accepted');
      vi.advanceTimersByTime(1);
      expect(ackedTx!.state).toBe('Terminated');
      expect(unackedTx!.state).toBe('Accepted');
      vi.advanceTimersByTime(32000 - 6000);
      expect(unackedTx!.state).toBe('Terminated');
      expect(h.layer.counters.ackTimeouts).toBe(1);
    });

    it('an INVITE client transaction leaves Accepted after `linger`; a later 2xx goes to the stray-2xx path', () => {
      const h = makeLayer({ timers: { linger: 5000 } });
      const inv = makeRequest();
      const finals: number[] = [];
      const tx = h.layer.sendRequest(inv, UDP_PEER, { onFinal: (r) => finals.push(r.status), onTimeout: () => undefined, onTransportError: () => undefined });
      h.layer.receiveResponse(respond(inv, 200, 'uas'), UDP_PEER);
      expect(tx.state).toBe('Accepted');
      vi.advanceTimersByTime(5000);
      expect(tx.state).toBe('Terminated');
      h.layer.receiveResponse(respond(inv, 200, 'uas'), UDP_PEER);
      expect(finals).toEqual([200]);
      expect(h.stray.map((r) => r.status)).toEqual([200]);
    });

    it('is clamped to [T4, 64*T1]', () => {
      expect(makeLayer({ timers: { linger: 10 } }).layer.timers.linger).toBe(5000);
      expect(makeLayer({ timers: { linger: 600000 } }).layer.timers.linger).toBe(32000);
      expect(makeLayer().layer.timers.linger).toBe(32000);
    });
  });
});
