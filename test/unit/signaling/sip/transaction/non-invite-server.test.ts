import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createResponse } from '../../../../../signaling/sip/message/index.js';
import { copyRequest, makeLayer, makeRequest, TCP_PEER, UDP_PEER } from './fake-transport.js';

describe('non-INVITE server transaction (RFC 3261 §17.2.2)', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('Trying absorbs retransmissions; Proceeding and Completed resend the last response; Timer J ends it', () => {
    const h = makeLayer();
    const bye = makeRequest({ method: 'BYE', toTag: 'b' });
    h.layer.receiveRequest(bye, UDP_PEER);
    const tx = h.requests[0]!.tx!;
    expect(tx.state).toBe('Trying');
    expect(h.transport.responses).toHaveLength(0); // no automatic 100 for non-INVITE
    h.layer.receiveRequest(copyRequest(bye), UDP_PEER);
    expect(h.transport.responses).toHaveLength(0);
    tx.respond(createResponse(bye, 100));
    expect(tx.state).toBe('Proceeding');
    h.layer.receiveRequest(copyRequest(bye), UDP_PEER);
    expect(h.transport.statuses()).toEqual([100, 100]);
    tx.respond(createResponse(bye, 200));
    expect(tx.state).toBe('Completed');
    h.layer.receiveRequest(copyRequest(bye), UDP_PEER);
    expect(h.transport.statuses()).toEqual([100, 100, 200, 200]);
    expect(h.requests).toHaveLength(1);
    vi.advanceTimersByTime(31999);
    expect(tx.state).toBe('Completed');
    vi.advanceTimersByTime(1);
    expect(tx.state).toBe('Terminated');
    expect(vi.getTimerCount()).toBe(0);
    // After Timer J the same request is new again.
    h.layer.receiveRequest(copyRequest(bye), UDP_PEER);
    expect(h.requests).toHaveLength(2);
  });

  it('Completed over UDP resends the bytes it sent and keeps no response object; TCP keeps the response', () => {
    const h = makeLayer();
    const bye = makeRequest({ method: 'BYE', toTag: 'b' });
    h.layer.receiveRequest(bye, UDP_PEER);
    const tx = h.requests[0]!.tx!;
    tx.respond(createResponse(bye, 200));
    expect((tx as unknown as { lastResponse: unknown }).lastResponse).toBeUndefined();
    h.layer.receiveRequest(copyRequest(bye), UDP_PEER);
    h.layer.receiveRequest(copyRequest(bye), UDP_PEER);
    expect(h.transport.resends).toHaveLength(2);
    expect(h.transport.statuses()).toEqual([200, 200, 200]);
    expect(h.layer.counters.retransmissions).toBe(2);

    const info = makeRequest({ method: 'INFO', toTag: 'c', transport: 'TCP' });
    h.layer.receiveRequest(info, { ...UDP_PEER, transport: 'TCP' });
    const tcpTx = h.requests[1]!.tx!;
    tcpTx.respond(createResponse(info, 100));
    h.layer.receiveRequest(copyRequest(info), { ...UDP_PEER, transport: 'TCP' });
    expect(h.transport.resends).toHaveLength(2);
    expect(h.transport.statuses()).toEqual([200, 200, 200, 100, 100]);
  });

  it('on TCP, Timer J is zero', () => {
    const h = makeLayer();
    const bye = makeRequest({ method: 'BYE', toTag: 'b', transport: 'TCP' });
    h.layer.receiveRequest(bye, TCP_PEER);
    const tx = h.requests[0]!.tx!;
    tx.respond(createResponse(bye, 200));
    expect(tx.state).toBe('Terminated');
  });

  it('a transaction the TU never answers is dropped after 64*T1', () => {
    const h = makeLayer();
    h.layer.receiveRequest(makeRequest({ method: 'OPTIONS' }), UDP_PEER);
    const tx = h.requests[0]!.tx!;
    vi.advanceTimersByTime(32000);
    expect(tx.state).toBe('Terminated');
    expect(h.layer.counters.orphaned).toBe(1);
    tx.respond(createResponse(h.requests[0]!.req, 200));
    expect(h.transport.responses).toHaveLength(0);
    expect(h.layer.counters.lateResponses).toBe(1);
  });
});
