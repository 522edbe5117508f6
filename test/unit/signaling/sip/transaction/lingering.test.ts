import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createResponse } from '../../../../../signaling/sip/message/index.js';
import { makeLayer, makeRequest, UDP_PEER } from './fake-transport.js';

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
});
