import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { getTag } from '../../../../../signaling/sip/message/index.js';
import { copyRequest, makeLayer, makeRequest, UDP_PEER } from './fake-transport.js';

describe('the INVITE gate: stateless refusal before any transaction (shedding load)', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('a refused INVITE gets one 503 with the gate headers and leaves no transaction, no timer, nothing for the TU', () => {
    const h = makeLayer();
    h.layer.setInviteGate(() => ({ status: 503, reason: 'Node Overloaded', headers: [['Retry-After', '2']] }));
    const inv = makeRequest({ branch: 'z9hG4bKshed1' });
    h.layer.receiveRequest(inv, UDP_PEER);
    expect(h.transport.statuses()).toEqual([503]);
    const res = h.transport.responses[0]!.res;
    expect(res.reason).toBe('Node Overloaded');
    expect(res.headers.get('Retry-After')).toBe('2');
    expect(getTag(res.headers.get('To') ?? '')).toBeDefined();
    expect(h.layer.size).toBe(0);
    expect(h.requests).toHaveLength(0);
    expect(h.layer.counters.refusedStateless).toBe(1);
    expect(vi.getTimerCount()).toBe(0);
    // A retransmission is asked again and answered again (no state to match it).
    h.layer.receiveRequest(copyRequest(inv), UDP_PEER);
    expect(h.transport.statuses()).toEqual([503, 503]);
    expect(h.layer.counters.refusedStateless).toBe(2);
    // Its ACK matches nothing: handed on as a stray ACK (nothing owed), still no state.
    const ack = copyRequest(inv, 'ACK');
    ack.headers.set('CSeq', '1 ACK');
    ack.headers.set('To', res.headers.get('To')!);
    h.layer.receiveRequest(ack, UDP_PEER);
    expect(h.requests.map((r) => r.tx)).toEqual([null]);
    expect(h.layer.size).toBe(0);
  });

  it('an admitted INVITE gets its transaction (100 Trying, TU called); in-dialog INVITEs and other methods are never asked', () => {
    const h = makeLayer();
    const asked: string[] = [];
    h.layer.setInviteGate((req) => {
      asked.push(req.method);
      return undefined;
    });
    h.layer.receiveRequest(makeRequest({ branch: 'z9hG4bKok1' }), UDP_PEER);
    expect(h.requests).toHaveLength(1);
    expect(h.layer.size).toBe(1);
    h.layer.setInviteGate((req) => {
      asked.push(`refusing ${req.method}`);
      return { status: 503, reason: 'Node Draining' };
    });
    h.layer.receiveRequest(makeRequest({ branch: 'z9hG4bKreinv', toTag: 'dlg1' }), UDP_PEER);
    h.layer.receiveRequest(makeRequest({ method: 'OPTIONS', branch: 'z9hG4bKopt' }), UDP_PEER);
    expect(asked).toEqual(['INVITE']);
    expect(h.requests).toHaveLength(3);
    expect(h.layer.counters.refusedStateless).toBe(0);
  });

  it('a gate that throws admits (the TU still checks) and is counted', () => {
    const h = makeLayer();
    h.layer.setInviteGate(() => {
      throw new Error('broken');
    });
    h.layer.receiveRequest(makeRequest({ branch: 'z9hG4bKthrow' }), UDP_PEER);
    expect(h.requests).toHaveLength(1);
    expect(h.layer.counters.tuErrors).toBe(1);
  });
});
