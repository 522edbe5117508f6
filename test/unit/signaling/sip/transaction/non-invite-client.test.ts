import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { makeLayer, makeRequest, respond, TCP_PEER, UDP_PEER } from './fake-transport.js';

function sendTimes(h: ReturnType<typeof makeLayer>, until: number): number[] {
  const times: number[] = [0];
  let last = h.transport.requests.length;
  for (let t = 1; t <= until; t++) {
    vi.advanceTimersByTime(1);
    if (h.transport.requests.length > last) {
      last = h.transport.requests.length;
      times.push(t);
    }
  }
  return times;
}

describe('non-INVITE client transaction (RFC 3261 §17.1.2)', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('Timer E doubles up to T2 in Trying; Timer F times out at 64*T1', () => {
    const h = makeLayer();
    let timeouts = 0;
    const tx = h.layer.sendRequest(makeRequest({ method: 'BYE' }), UDP_PEER, {
      onFinal: () => undefined,
      onTimeout: () => timeouts++,
      onTransportError: () => undefined,
    });
    const times = sendTimes(h, 32000);
    // 500, 1000, 2000, 4000, 4000, ... (capped at T2)
    expect(times.slice(0, 7)).toEqual([0, 500, 1500, 3500, 7500, 11500, 15500]);
    expect(times.at(-1)).toBe(31500);
    expect(timeouts).toBe(1);
    expect(tx.state).toBe('Terminated');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('in Proceeding Timer E fires every T2', () => {
    const h = makeLayer();
    const req = makeRequest({ method: 'OPTIONS' });
    let prov = 0;
    const tx = h.layer.sendRequest(req, UDP_PEER, {
      onProvisional: () => prov++,
      onFinal: () => undefined,
      onTimeout: () => undefined,
      onTransportError: () => undefined,
    });
    vi.advanceTimersByTime(100);
    h.layer.receiveResponse(respond(req, 100), UDP_PEER);
    expect(tx.state).toBe('Proceeding');
    expect(prov).toBe(1);
    // The pending E (500 ms) still fires, then every T2 = 4000.
    const times = sendTimes(h, 9000).map((t) => t + 100);
    expect(times).toEqual([100, 500, 4500, 8500]);
  });

  it('a final response is passed up once; Timer K = T4 absorbs retransmissions', () => {
    const h = makeLayer();
    const req = makeRequest({ method: 'BYE' });
    const finals: number[] = [];
    const tx = h.layer.sendRequest(req, UDP_PEER, {
      onFinal: (r) => finals.push(r.status),
      onTimeout: () => undefined,
      onTransportError: () => undefined,
    });
    h.layer.receiveResponse(respond(req, 200, 't'), UDP_PEER);
    h.layer.receiveResponse(respond(req, 200, 't'), UDP_PEER);
    expect(finals).toEqual([200]);
    expect(tx.state).toBe('Completed');
    vi.advanceTimersByTime(4999);
    expect(tx.state).toBe('Completed');
    expect(h.transport.requests).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(tx.state).toBe('Terminated');
    // Once gone, a late response is a stray, not a crash.
    h.layer.receiveResponse(respond(req, 200, 't'), UDP_PEER);
    expect(h.layer.counters.strayResponses).toBe(1);
  });

  it('on TCP: no retransmissions, and Timer K is zero', () => {
    const h = makeLayer();
    const req = makeRequest({ method: 'BYE', transport: 'TCP' });
    const tx = h.layer.sendRequest(req, TCP_PEER, {
      onFinal: () => undefined,
      onTimeout: () => undefined,
      onTransportError: () => undefined,
    });
    vi.advanceTimersByTime(20000);
    expect(h.transport.requests).toHaveLength(1);
    h.layer.receiveResponse(respond(req, 481, 't'), TCP_PEER);
    expect(tx.state).toBe('Terminated');
  });
});
