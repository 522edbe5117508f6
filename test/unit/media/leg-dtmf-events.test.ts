import { describe, expect, it } from 'vitest';
import { DtmfEvents, parseDtmfReport, type DtmfDigitEvent } from '../../../media/leg/dtmf-events.js';

/** A report as rtpengine 10.5 sends it (captured on this machine). */
function report(over: Record<string, unknown> = {}): string {
  return JSON.stringify({
    callid: 'c1', source_tag: 'caller', tags: ['plat', 'caller'], type: 'DTMF', timestamp: 1795456528,
    source_ip: '127.0.18.2', event: 1, duration: 120, volume: 10, ...over,
  });
}

describe('parseDtmfReport', () => {
  it('reads a report of rtpengine 10.5', () => {
    const r = parseDtmfReport(Buffer.from(report()));
    expect(r).toEqual({ ok: true, event: { callId: 'c1', sourceTag: 'caller', digit: '1', event: 1, durationMs: 120, volume: 10, sourceIp: '127.0.18.2' } });
  });

  it('maps event codes 10-15 to * # A-D (RFC 4733 §3.2)', () => {
    const digits = [10, 11, 12, 13, 14, 15].map((event) => {
      const r = parseDtmfReport(report({ event }));
      return r.ok ? r.event.digit : '?';
    });
    expect(digits.join('')).toBe('*#ABCD');
  });

  it.each([
    ['not JSON', '{"callid":', /not JSON/],
    ['an array', '[1,2]', /not a JSON object/],
    ['null', 'null', /not a JSON object/],
    ['another type', report({ type: 'RTCP' }), /not "DTMF"/],
    ['no call-id', report({ callid: undefined }), /callid/],
    ['an empty call-id', report({ callid: '' }), /callid/],
    ['a numeric tag', report({ source_tag: 5 }), /source_tag/],
    ['a huge tag', report({ source_tag: 'x'.repeat(300) }), /source_tag/],
    ['a string event', report({ event: '1' }), /event missing/],
    ['a fractional event', report({ event: 1.5 }), /event missing/],
    ['flash (event 16)', report({ event: 16 }), /not a DTMF key/],
    ['a negative event', report({ event: -1 }), /not a DTMF key/],
    ['a negative duration', report({ duration: -5 }), /duration/],
    ['a string volume', report({ volume: 'loud' }), /volume/],
  ])('rejects %s', (_name, input, reason) => {
    const r = parseDtmfReport(input);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(reason);
  });

  it('rejects datagrams above the size cap before parsing them', () => {
    const r = parseDtmfReport(report({ pad: 'x'.repeat(5000) }));
    expect(r).toEqual({ ok: false, reason: expect.stringMatching(/exceeds 4096/) });
  });

  it('ignores a source_ip that is not an address', () => {
    const r = parseDtmfReport(report({ source_ip: 'nonsense' }));
    expect(r.ok && r.event.sourceIp).toBeUndefined();
  });
});

describe('DtmfEvents dispatch', () => {
  function setup(windowMs = 80): { events: DtmfEvents; clock: { t: number } } {
    const clock = { t: 1000 };
    return { events: new DtmfEvents({ duplicateWindowMs: windowMs, now: () => clock.t }), clock };
  }

  it('hands digits to the subscribers of their (call-id, source tag) only, in order', () => {
    const { events, clock } = setup();
    const caller: string[] = [];
    const other: string[] = [];
    events.subscribe('c1', 'caller', (e) => caller.push(e.digit));
    events.subscribe('c2', 'caller', (e) => other.push(e.digit));
    for (const [i, event] of [1, 2, 11].entries()) {
      clock.t += 200 * (i + 1);
      events.handleDatagram(report({ event }));
    }
    events.handleDatagram(report({ source_tag: 'plat', event: 9 })); // the platform's own digits
    expect(caller).toEqual(['1', '2', '#']);
    expect(other).toEqual([]);
    expect(events.stats()).toMatchObject({ datagrams: 4, dispatched: 3, unrouted: 1, invalid: 0 });
  });

  it('drops a report repeated within the window, keeps a real second press of the same key', () => {
    const { events, clock } = setup();
    const got: string[] = [];
    events.subscribe('c1', 'caller', (e) => got.push(e.digit));
    events.handleDatagram(report({ event: 5 }));
    clock.t += 20;
    events.handleDatagram(report({ event: 5 })); // same press reported twice
    clock.t += 180;
    events.handleDatagram(report({ event: 5 })); // pressed again
    clock.t += 10;
    events.handleDatagram(report({ event: 5, duration: 300 })); // different length: a different press
    expect(got).toEqual(['5', '5', '5']);
    expect(events.stats().duplicates).toBe(1);
  });

  it('counts and drops bad input without throwing, and remembers why', () => {
    const { events } = setup();
    const got: DtmfDigitEvent[] = [];
    events.subscribe('c1', 'caller', (e) => got.push(e));
    expect(() => {
      events.handleDatagram(Buffer.from([0xff, 0xfe, 0x00]));
      events.handleDatagram('');
      events.handleDatagram(Buffer.alloc(10_000, 0x7b));
      events.handleDatagram(report({ event: 99 }));
    }).not.toThrow();
    expect(got).toEqual([]);
    expect(events.stats()).toMatchObject({ invalid: 4, dispatched: 0, lastInvalidReason: expect.stringMatching(/not a DTMF key/) });
  });

  it('isolates a listener that throws and lets the others run', () => {
    const { events } = setup();
    const got: string[] = [];
    events.subscribe('c1', 'caller', () => {
      throw new Error('boom');
    });
    events.subscribe('c1', 'caller', (e) => got.push(e.digit));
    expect(() => events.handleDatagram(report())).not.toThrow();
    expect(got).toEqual(['1']);
    expect(events.stats().listenerErrors).toBe(1);
  });

  it('unsubscribe is idempotent and removes only its own subscription', () => {
    const { events, clock } = setup();
    const got: string[] = [];
    const listener = (e: DtmfDigitEvent): void => void got.push(e.digit);
    const off1 = events.subscribe('c1', 'caller', listener);
    events.subscribe('c1', 'caller', listener);
    off1();
    off1();
    expect(events.stats().subscriptions).toBe(1);
    events.handleDatagram(report());
    expect(got).toEqual(['1']);
    clock.t += 500;
    expect(events.stats().subscriptions).toBe(1);
  });

  it('bounds the number of subscriptions', () => {
    const events = new DtmfEvents({ maxSubscriptions: 2 });
    events.subscribe('a', 't', () => undefined);
    const off = events.subscribe('b', 't', () => undefined);
    expect(() => events.subscribe('c', 't', () => undefined)).toThrow(/2 DTMF subscriptions/);
    off();
    expect(() => events.subscribe('c', 't', () => undefined)).not.toThrow();
  });

  it('close() is idempotent, drops subscriptions and refuses new ones', async () => {
    const { events } = setup();
    const got: string[] = [];
    const off = events.subscribe('c1', 'caller', (e) => got.push(e.digit));
    await Promise.all([events.close(), events.close()]);
    events.handleDatagram(report());
    off();
    expect(got).toEqual([]);
    expect(events.stats().subscriptions).toBe(0);
    expect(() => events.subscribe('c1', 'caller', () => undefined)).toThrow(/closed/);
  });
});
