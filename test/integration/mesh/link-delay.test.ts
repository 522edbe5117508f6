/**
 * The emulated inter-region delay on the real call path: two regions wired as
 * `make start` wires them (infra/link-delays.ts plan → relays, mesh peers on
 * the relay entries), eu-west on 127.0.15.0/24 and us-east on 127.0.16.0/24.
 * A carrier call entering eu-west for a tenant homed in us-east crosses the
 * link twice before the caller sees the 200 (INVITE there, 200 back), so a
 * 40 ms one-way delay must add at least 80 ms to INVITE→200 compared with
 * the same calls at delay 0 in the same run. Calls still end with BYE from
 * either side, and calls homed in eu-west entering in us-east use the other
 * relay.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planLinkRelays, type LinkRelayPlan } from '../../../infra/link-delays.js';
import { startLinkRelays, type RunningLinkRelays } from '../../../infra/link-relays.js';
import { regionConfigs } from '../../../infra/region-configs.js';
import { parseConfig } from '../../../infra/config.js';
import { parseRegionCatalog, type RegionCatalog } from '../../../regions/catalog.js';
import { UdpDelayRelay } from '../../../regions/link/udp-delay-relay.js';
import { Dialog } from '../../../signaling/sip/dialog/index.js';
import { createResponse, generateCallId, generateTag, SipHeaders, type SipRequest, type SipResponse } from '../../../signaling/sip/message/index.js';
import { SipStack, type ClientTransactionCallbacks } from '../../../signaling/sip/stack.js';
import { runSipp, startSipp, type SippInstance, type SippOptions } from '../../support/sipp.js';
import { waitUntil } from '../../support/wait.js';
import { startTestRegion, type TestRegion } from '../signaling/b2bua/harness.js';

const DELAY_MS = 40;
const EDGE = 'eu-west';
const HOME = 'us-east';
const EDGE_SIG = { address: '127.0.15.1', port: 5060 };
const HOME_SIG = { address: '127.0.16.1', port: 5060 };
/** Carriers: one per region (SIPp), and the timing caller in eu-west (our SIP stack, for sub-millisecond clocks). */
const EDGE_CARRIER = { address: '127.0.15.2', port: 5070 };
const EDGE_TIMER = { address: '127.0.15.3', port: 5070 };
const HOME_CARRIER = { address: '127.0.16.2', port: 5070 };
/** Far ends: an echoing callee and one that hangs up, in us-east; an echoing callee in eu-west. */
const HOME_CALLEE = { address: '127.0.16.50', port: 5090 };
const HOME_HANGUP_CALLEE = { address: '127.0.16.51', port: 5090 };
const EDGE_CALLEE = { address: '127.0.15.50', port: 5090 };

function catalogWithDelay(delayMs: number): RegionCatalog {
  const region = (id: string, o: number, rtpBase: number): unknown => ({
    id,
    subnet: `127.0.${o}.0/24`,
    signaling: { address: `127.0.${o}.1`, port: 5060 },
    mediaNodes: [
      { id: `it-ld-${id}-media-1`, address: `127.0.${o}.11`, ngPort: 2223, rtpPortMin: rtpBase, rtpPortMax: rtpBase + 999, capabilities: ['relay'] },
      { id: `it-ld-${id}-media-2`, address: `127.0.${o}.12`, ngPort: 2223, rtpPortMin: rtpBase + 1000, rtpPortMax: rtpBase + 1999, capabilities: ['relay'] },
    ],
    centralMedia: { address: `127.0.${o}.20`, port: 8090 },
  });
  return parseRegionCatalog({
    // eu-west first: index 0, so us-east reaches it at 127.0.16.100 and it reaches us-east at 127.0.15.101.
    regions: [region(EDGE, 15, 41000), region(HOME, 16, 43000)],
    links: { [EDGE]: { [HOME]: delayMs }, [HOME]: { [EDGE]: delayMs } },
    homeRegionRules: {
      numbers: {
        '+155': { tenant: 'AC00000000000000000000000000000001', homeRegion: HOME },
        '+4420': { tenant: 'AC00000000000000000000000000000002', homeRegion: EDGE },
      },
    },
  });
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] ?? NaN) : ((s[mid - 1] ?? NaN) + (s[mid] ?? NaN)) / 2;
};

/** Send one request in a client transaction and resolve with its final response. */
function request(stack: SipStack, req: SipRequest, dest: { address: string; port: number }): Promise<SipResponse> {
  return new Promise((resolve, reject) => {
    const cb: ClientTransactionCallbacks = {
      onFinal: resolve,
      onTimeout: () => reject(new Error(`${req.method} timed out`)),
      onTransportError: reject,
    };
    stack.sendRequest(req, { transport: 'UDP', ...dest }, cb);
  });
}

/**
 * One call from `caller` to `dialed` at `target`: INVITE (timed until its 200), ACK, BYE (must get 200).
 * Returns the INVITE→200 time in ms (performance.now, sub-millisecond).
 */
async function timedCall(caller: SipStack, target: { address: string; port: number }, dialed: string): Promise<number> {
  const me = caller.localEndpoint('UDP');
  const sdp = [`v=0`, `o=timer 1 1 IN IP4 ${me.address}`, 's=-', `c=IN IP4 ${me.address}`, 't=0 0', 'm=audio 20100 RTP/AVP 0', 'a=rtpmap:0 PCMU/8000', ''].join('\r\n');
  const invite: SipRequest = {
    type: 'request',
    method: 'INVITE',
    uri: `sip:${dialed}@${target.address}:${target.port}`,
    version: 'SIP/2.0',
    headers: new SipHeaders([
      ['From', `<sip:timer@${me.address}:${me.port}>;tag=${generateTag()}`],
      ['To', `<sip:${dialed}@${target.address}>`],
      ['Call-ID', generateCallId(me.address)],
      ['CSeq', '1 INVITE'],
      ['Contact', `<sip:timer@${me.address}:${me.port};transport=udp>`],
      ['Content-Type', 'application/sdp'],
    ]),
    body: Buffer.from(sdp),
  };
  const t0 = performance.now();
  const ok = await request(caller, invite, target);
  const ms = performance.now() - t0;
  if (ok.status !== 200) throw new Error(`INVITE got ${ok.status} ${ok.reason}`);
  const dialog = Dialog.fromUac(invite, ok);
  caller.sendAck(dialog.createAck(1), { transport: 'UDP', ...target });
  const bye = await request(caller, dialog.createRequest('BYE'), target);
  if (bye.status !== 200) throw new Error(`BYE got ${bye.status} ${bye.reason}`);
  return ms;
}

describe(`link delay on the mesh call path (${EDGE} edge, ${HOME} home, ${DELAY_MS} ms one way)`, () => {
  let plan: LinkRelayPlan;
  let relays: RunningLinkRelays;
  let edge: TestRegion;
  let home: TestRegion;
  let timer: SipStack;
  const callees: SippInstance[] = [];

  const sipRelay = (from: string, to: string): UdpDelayRelay => {
    const r = relays.relays.find((x) => x.spec.kind === 'sip' && x.spec.protocol === 'udp' && x.spec.from === from && x.spec.to === to);
    if (r === undefined || !(r.relay instanceof UdpDelayRelay)) throw new Error(`no SIP relay ${from}→${to}`);
    return r.relay;
  };

  beforeAll(async () => {
    const catalog = catalogWithDelay(DELAY_MS);
    plan = planLinkRelays(catalog);
    relays = await startLinkRelays(plan);
    // The signaling configurations `make start` would write, reduced to what the test harness takes.
    const cfgs = regionConfigs(catalog, parseConfig({ routes: [] }), plan);
    const meshOf = (region: string): { peers: { region: string; address: string; port: number }[]; homeRules: { prefix: string; region: string }[] } => {
      const c = cfgs.find((x) => x.region === region)!;
      return { peers: c.mesh.peers.map((p) => ({ region: p.region, address: p.address, port: p.port })), homeRules: c.mesh.homeRules };
    };
    const mediaOf = (region: string) => catalog.region(region).mediaNodes.map((n) => ({ id: n.id, address: n.address, ngPort: n.ngPort, rtpPortMin: n.rtpPortMin, rtpPortMax: n.rtpPortMax }));
    home = await startTestRegion({
      keyPrefix: 'it-linkdelay:',
      region: HOME,
      nodeId: 'it-ld-us-east-sig',
      sip: HOME_SIG,
      mediaNodes: mediaOf(HOME),
      routes: [
        { prefix: '+1555', destination: `sip:${HOME_CALLEE.address}:${HOME_CALLEE.port}` },
        { prefix: '+1556', destination: `sip:${HOME_HANGUP_CALLEE.address}:${HOME_HANGUP_CALLEE.port}` },
      ],
      mesh: meshOf(HOME),
    });
    edge = await startTestRegion({
      keyPrefix: 'it-linkdelay:',
      region: EDGE,
      nodeId: 'it-ld-eu-west-sig',
      sip: EDGE_SIG,
      mediaNodes: mediaOf(EDGE),
      routes: [{ prefix: '+4420', destination: `sip:${EDGE_CALLEE.address}:${EDGE_CALLEE.port}` }],
      mesh: meshOf(EDGE),
    });
    const callee = async (at: { address: string; port: number }, scenario: string, extra: Partial<SippOptions> = {}): Promise<void> => {
      const s = await startSipp({ scenario, localAddress: at.address, localPort: at.port, mediaPort: 22000, timeoutMs: 180_000, ...extra });
      callees.push(s);
      await s.ready;
    };
    await callee(HOME_CALLEE, 'uas-echo.xml');
    await callee(HOME_HANGUP_CALLEE, 'uas-bye.xml', { callDurationMs: 300 });
    await callee(EDGE_CALLEE, 'uas-echo.xml');
    timer = await SipStack.start({ address: EDGE_TIMER.address, port: EDGE_TIMER.port, transports: ['UDP'] });
    // The platform may end a call itself: answer whatever arrives.
    timer.onRequest((req, tx) => tx?.respond(createResponse(req, 200, 'OK', { toTag: generateTag() })));
  });

  afterAll(async () => {
    // Every step runs even when one fails: no process of this file may outlive it.
    const steps: (() => Promise<unknown> | undefined)[] = [
      () => Promise.allSettled(callees.map((c) => c.stop(500))),
      () => timer?.close(),
      () => edge?.close(),
      () => home?.close(),
      () => relays?.close(),
    ];
    const errors: unknown[] = [];
    for (const step of steps) await Promise.resolve(step()).catch((e: unknown) => errors.push(e));
    if (errors.length > 0) throw errors[0];
  });

  it('configures each region to reach the other through a relay entry in its own subnet', () => {
    expect(plan.entries).toEqual({ [EDGE]: { [HOME]: '127.0.15.101' }, [HOME]: { [EDGE]: '127.0.16.100' } });
    expect(edge.config.mesh.peers).toEqual([{ region: HOME, address: '127.0.15.101', port: 5060, transport: 'UDP' }]);
    expect(home.config.mesh.peers).toEqual([{ region: EDGE, address: '127.0.16.100', port: 5060, transport: 'UDP' }]);
  });

  it(`adds at least 2 × ${DELAY_MS} ms to INVITE→200, and the calls end with BYE through the relays`, async () => {
    const toHome = sipRelay(EDGE, HOME);
    const completedBefore = { edge: edge.node.b2bua.counters.completed, home: home.node.b2bua.counters.completed };
    const before = toHome.stats().forwarded;

    // Calls at delay 0 and at DELAY_MS alternate, so both sets see the same load on this shared machine.
    const rounds = 20;
    const direct: number[] = [];
    const delayed: number[] = [];
    // A new delay applies to datagrams arriving from then on, behind those already queued (FIFO):
    // switch only once the previous call's teardown has crossed the link.
    const atDelay = async (ms: number): Promise<void> => {
      await waitUntil(() => relays.relays.every((r) => !(r.relay instanceof UdpDelayRelay) || (r.relay.stats().queued.toTarget === 0 && r.relay.stats().queued.toNear === 0)), 5000, 'link queues empty');
      relays.setDelay(ms);
    };
    await timedCall(timer, EDGE_SIG, '+15551230000'); // warm-up: first-call costs (connections, JIT) in neither set
    for (let i = 0; i < rounds; i++) {
      await atDelay(0);
      direct.push(await timedCall(timer, EDGE_SIG, `+1555123${String(i).padStart(4, '0')}`));
      await atDelay(DELAY_MS);
      delayed.push(await timedCall(timer, EDGE_SIG, `+1555124${String(i).padStart(4, '0')}`));
    }
    const fmt = (xs: number[]): string => xs.map((x) => x.toFixed(1)).join(', ');
    // Floors (fastest call of each set) compare the path itself: both signaling nodes share this process, so in
    // the delayed calls background work (health pings, Redis writes) overlaps the link time and a median
    // comparison would credit that to the link.
    const addedFloor = Math.min(...delayed) - Math.min(...direct);
    const addedMedian = median(delayed) - median(direct);
    // eslint-disable-next-line no-console
    console.log(
      `INVITE→200 ms at delay 0: ${fmt(direct)}; at ${DELAY_MS} ms: ${fmt(delayed)}; ` +
        `fastest ${Math.min(...direct).toFixed(1)} → ${Math.min(...delayed).toFixed(1)} (+${addedFloor.toFixed(1)}), medians ${median(direct).toFixed(1)} → ${median(delayed).toFixed(1)} (+${addedMedian.toFixed(1)})`,
    );
    // The INVITE crosses the link to the home region and its 200 crosses back: every delayed call takes
    // 2 × the one-way delay at least. The growth of the fastest call is 2 × the delay give or take the
    // nodes' own work, which can be a little faster across the link (in a direct call both nodes, sharing
    // this process, work at the same moment; across the link they take turns): 5 % of slack.
    expect(Math.min(...delayed)).toBeGreaterThanOrEqual(2 * DELAY_MS);
    expect(addedFloor).toBeGreaterThanOrEqual(2 * DELAY_MS * 0.95);
    // And each crossing is delayed once, not twice (a message relayed by both relays of the pair would add 4 ×).
    expect(addedMedian).toBeLessThan(3 * DELAY_MS);

    // Every call ended with BYE on both nodes (the edge's BYE to the home may still be crossing the link).
    const calls = 2 * rounds + 1;
    await waitUntil(() => home.node.b2bua.counters.completed - completedBefore.home >= calls, 5000, `home saw ${calls} BYEs`);
    expect(edge.node.b2bua.counters.completed - completedBefore.edge).toBe(calls);
    expect(home.node.b2bua.counters.completed - completedBefore.home).toBe(calls);
    // Per call INVITE, ACK, BYE towards the home and at least the 200s of INVITE and BYE back, all through the relay.
    await waitUntil(() => toHome.stats().queued.toNear === 0, 5000, 'the last 200 for a BYE delivered');
    const after = toHome.stats().forwarded;
    expect(after.toTarget - before.toTarget).toBeGreaterThanOrEqual(calls * 3);
    expect(after.toNear - before.toNear).toBeGreaterThanOrEqual(calls * 2);
    expect(toHome.stats().dropped).toMatchObject({ strangers: 0, noPeer: 0, queueFull: 0, tooLarge: 0 });
  });

  it('carries the home side\'s BYE back to the edge caller through the relay (in-dialog request from the far side)', async () => {
    const toHome = sipRelay(EDGE, HOME);
    const before = toHome.stats().forwarded.toNear;
    let homeSource: string | undefined;
    const poller = setInterval(() => {
      for (const c of home.node.b2bua.calls.values()) homeSource = `${c.a.source.address}`;
    }, 50);
    const res = await runSipp({
      scenario: 'uac-recv-bye.xml',
      target: `${EDGE_SIG.address}:${EDGE_SIG.port}`,
      localAddress: EDGE_CARRIER.address,
      localPort: EDGE_CARRIER.port,
      mediaPort: 20000,
      service: '+15561234567',
      calls: 2,
      rate: 2,
      limit: 1,
      timeoutMs: 60_000,
    });
    clearInterval(poller);
    expect(res.failedCalls, res.errorsTail).toBe(0);
    expect(res.successfulCalls).toBe(2);
    // The home node knows the edge only by the relay's source in its own subnet, and sent its BYEs there.
    expect(homeSource).toBe('127.0.16.100');
    // Per call at least 100/180/200 and the BYE came back through the relay.
    expect(toHome.stats().forwarded.toNear - before).toBeGreaterThanOrEqual(2 * 3);
  });

  it('forwards calls homed in eu-west that enter in us-east through the other relay', async () => {
    const toEdge = sipRelay(HOME, EDGE);
    const before = toEdge.stats().forwarded;
    const res = await runSipp({
      scenario: 'uac-nomedia.xml',
      target: `${HOME_SIG.address}:${HOME_SIG.port}`,
      localAddress: HOME_CARRIER.address,
      localPort: HOME_CARRIER.port,
      mediaPort: 20000,
      service: '+442071234567',
      calls: 2,
      rate: 2,
      limit: 1,
      callDurationMs: 100,
      traceRtt: true,
      timeoutMs: 60_000,
    });
    expect(res.failedCalls, res.errorsTail).toBe(0);
    expect(res.successfulCalls).toBe(2);
    for (const ms of res.responseTimesMs) expect(ms).toBeGreaterThanOrEqual(2 * DELAY_MS);
    await waitUntil(() => toEdge.stats().queued.toTarget === 0 && toEdge.stats().queued.toNear === 0, 5000, 'the last BYE and its 200 across the link');
    const after = toEdge.stats().forwarded;
    expect(after.toTarget - before.toTarget).toBeGreaterThanOrEqual(2 * 3);
    expect(after.toNear - before.toNear).toBeGreaterThanOrEqual(2 * 2);
  });
});
