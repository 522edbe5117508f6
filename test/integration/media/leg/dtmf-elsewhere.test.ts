/**
 * Digits of calls that run in another region (DtmfEvents `routeElsewhere`),
 * over real UDP on loopback: a digit of a call nobody here listens to is
 * passed on, byte for byte and in order, to the listener the route names; the
 * route is asked once per call while its answer is fresh; a call with no route
 * is counted as unrouted; local subscribers still come first.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSocket } from 'node:dgram';
import { DtmfEvents } from '../../../../media/leg/dtmf-events.js';
import { waitFor } from '../../../support/wait.js';

const report = (callId: string, event: number, duration = 100): Buffer =>
  Buffer.from(JSON.stringify({ callid: callId, source_tag: 'caller', tags: ['caller', 'plat'], type: 'DTMF', timestamp: 1, source_ip: '127.0.0.1', event, duration, volume: 10 }));

async function send(to: { address: string; port: number }, datagram: Buffer): Promise<void> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.send(datagram, to.port, to.address, () => r()));
  s.close();
}

describe('DtmfEvents: digits of calls that run elsewhere', () => {
  let edge: DtmfEvents;
  let home: DtmfEvents;
  const asked: string[] = [];
  let slowRoute = 0;

  beforeEach(async () => {
    asked.length = 0;
    home = await DtmfEvents.listen({ address: '127.0.0.1', port: 0 });
    edge = await DtmfEvents.listen({
      address: '127.0.0.1',
      port: 0,
      elsewhereCacheMs: 60_000,
      routeElsewhere: async (callId) => {
        asked.push(callId);
        if (slowRoute > 0) await new Promise((r) => setTimeout(r, slowRoute));
        return callId.startsWith('home-') ? home.endpoint : undefined;
      },
    });
  });
  afterEach(async () => {
    await edge.close();
    await home.close();
  });

  it("passes a routed call's digits on in order, asks the route once, and counts calls with no route as unrouted", async () => {
    slowRoute = 30; // the first digit waits for the route; the next ones queue behind it and keep their order
    const digits: string[] = [];
    home.subscribe('home-1', 'caller', (e) => digits.push(e.digit));
    for (const [i, ev] of [1, 2, 3, 11].entries()) await send(edge.endpoint!, report('home-1', ev, 100 + i));
    await send(edge.endpoint!, report('nowhere-1', 5));
    await waitFor(() => digits.length === 4 || undefined, 3000, 'four digits at the home');
    expect(digits).toEqual(['1', '2', '3', '#']);
    await waitFor(() => edge.stats().unrouted === 1 || undefined, 3000, 'one unrouted digit');
    expect(edge.stats()).toMatchObject({ forwarded: 4, unrouted: 1, dispatched: 0, elsewhereCached: 2 });
    expect(asked).toEqual(['home-1', 'nowhere-1']);
    expect(home.stats()).toMatchObject({ dispatched: 4, invalid: 0 });
  });

  it('a subscriber here wins over a route elsewhere', async () => {
    const here: string[] = [];
    edge.subscribe('home-2', 'caller', (e) => here.push(e.digit));
    await send(edge.endpoint!, report('home-2', 7));
    await waitFor(() => here.length === 1 || undefined, 3000, 'digit dispatched here');
    expect(asked).toEqual([]);
    expect(edge.stats()).toMatchObject({ forwarded: 0, dispatched: 1 });
  });
});
