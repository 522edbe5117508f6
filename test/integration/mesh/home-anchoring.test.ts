/**
 * Home-region anchoring across two regions (issue 3's first end-to-end case):
 * the carrier (SIPp) is in eu-west, the tenant is homed in us-east, the far
 * end (SIPp) is in eu-west. The call completes; its SIP path goes through the
 * us-east signaling node (which anchors the dialog); its RTP is relayed only
 * by an eu-west media node and never touches a us-east one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSTHROUGH_NODE } from '../../../signaling/b2bua/mesh.js';
import { runSipp, startSipp, type SippInstance } from '../../support/sipp.js';
import { startTestRegion, type TestRegion } from '../signaling/b2bua/harness.js';
import { waitFor } from '../../support/wait.js';
import { keys } from '../../../regions/store/keys.js';
import type { IncomingNumberRecord } from '../../../regions/store/numbers.js';
import { apiDate } from '../../../regions/store/schema.js';

const ACCOUNT = `AC${'7'.repeat(32)}`;

const EDGE_SIG = { address: '127.0.12.1', port: 5060 };
const HOME_SIG = { address: '127.0.13.1', port: 5060 };
const CARRIER = { address: '127.0.12.2', port: 5070 };
const FAR_END = { address: '127.0.12.50', port: 5090 };

describe('home-region anchoring: eu-west edge, us-east home', () => {
  let edge: TestRegion;
  let home: TestRegion;
  let farEnd: SippInstance;

  beforeAll(async () => {
    home = await startTestRegion({
      keyPrefix: 'it-mesh:',
      region: 'us-east',
      nodeId: 'it-us-east-sig',
      sip: HOME_SIG,
      mediaNodes: [
        { id: 'it-us-east-media-1', address: '127.0.13.11', ngPort: 2223, rtpPortMin: 57000, rtpPortMax: 57999 },
        { id: 'it-us-east-media-2', address: '127.0.13.12', ngPort: 2223, rtpPortMin: 58000, rtpPortMax: 58999 },
      ],
      // The tenant's number rings a phone that happens to be in eu-west.
      routes: [{ prefix: '+1555', destination: `sip:${FAR_END.address}:${FAR_END.port}` }],
      mesh: { peers: [{ region: 'eu-west', ...EDGE_SIG }], homeRules: [{ prefix: '+1555', region: 'us-east' }] },
    });
    edge = await startTestRegion({
      keyPrefix: 'it-mesh:',
      region: 'eu-west',
      nodeId: 'it-eu-west-sig',
      sip: EDGE_SIG,
      mediaNodes: [
        { id: 'it-eu-west-media-1', address: '127.0.12.11', ngPort: 2223, rtpPortMin: 55000, rtpPortMax: 55999 },
        { id: 'it-eu-west-media-2', address: '127.0.12.12', ngPort: 2223, rtpPortMin: 56000, rtpPortMax: 56999 },
      ],
      routes: [],
      mesh: { peers: [{ region: 'us-east', ...HOME_SIG }], homeRules: [{ prefix: '+1555', region: 'us-east' }] },
    });
    farEnd = await startSipp({ scenario: 'uas-echo.xml', localAddress: FAR_END.address, localPort: FAR_END.port, mediaPort: 22000, rtpEcho: true, timeoutMs: 120_000 });
    await farEnd.ready;
  });
  afterAll(async () => {
    await farEnd?.stop(500);
    await edge?.close();
    await home?.close();
  });

  it('anchors signaling in us-east while RTP stays on an eu-west media node', async () => {
    // The dialed number is a tenant's (without an application): the call is accounted once, by the home.
    const k = keys('it-mesh:');
    const numberRec: IncomingNumberRecord = {
      sid: `PN${'7'.repeat(32)}`, accountSid: ACCOUNT, phoneNumber: '+15551234567', friendlyName: 'mesh', homeRegion: 'us-east',
      dateCreated: apiDate(), dateUpdated: apiDate(),
    };
    await home.node.redis.del(k.accountCalls(ACCOUNT), k.usage(ACCOUNT));
    await home.node.redis.set(k.number(numberRec.sid), JSON.stringify(numberRec));
    await home.node.redis.set(k.numberByE164(numberRec.phoneNumber), numberRec.sid);
    const edgeMedia = new Map<string, { caller: number; callee: number }>();
    // Read while the call is up: an ended call releases its INVITEs.
    const homeSeen = new Map<string, { mediaNodeId: string; edgeRegion: string | undefined; callSidHeader: string | undefined; sourceAddress: string }>();
    let homeMediaSessions = 0;
    const sample = async (): Promise<void> => {
      for (const call of edge.node.b2bua.calls.values()) {
        if (call.state !== 'answered' || call.answeredAt === undefined || Date.now() - call.answeredAt < 2000) continue;
        const q = await edge.node.media.node(call.mediaNodeId)!.engine.query(call.a.callId);
        const caller = q.tags[call.a.remoteTag]?.rtp.in.packets ?? 0;
        const callee = q.tags[call.b.remoteTag ?? '']?.rtp.in.packets ?? 0;
        if (caller > 0 && callee > 0) edgeMedia.set(call.sid, { caller, callee });
      }
      for (const call of home.node.b2bua.calls.values()) {
        if (!homeSeen.has(call.sid)) {
          homeSeen.set(call.sid, { mediaNodeId: call.mediaNodeId, edgeRegion: call.fromEdge?.region, callSidHeader: call.fromEdge?.callSid, sourceAddress: call.a.source.address });
        }
      }
      for (const n of home.node.media.snapshot()) {
        homeMediaSessions += (await home.node.media.node(n.id)!.client.list(100)).length;
      }
    };
    const poller = setInterval(() => void sample().catch(() => {}), 300);
    const res = await runSipp({
      scenario: 'uac-basic.xml',
      target: `${EDGE_SIG.address}:${EDGE_SIG.port}`,
      localAddress: CARRIER.address,
      localPort: CARRIER.port,
      mediaPort: 20000,
      service: '+15551234567',
      calls: 3,
      rate: 3,
      timeoutMs: 60_000,
    });
    clearInterval(poller);

    expect(res.failedCalls, res.errorsTail).toBe(0);
    expect(res.successfulCalls).toBe(3);
    // SIP path: both nodes anchored every call; the home node is the one that reached the far end.
    expect(edge.node.b2bua.counters.answered).toBe(3);
    expect(home.node.b2bua.counters.answered).toBe(3);
    expect(homeSeen.size).toBe(3);
    for (const call of homeSeen.values()) {
      expect(call.mediaNodeId).toBe(PASSTHROUGH_NODE);
      expect(call.edgeRegion).toBe('eu-west');
      expect(call.callSidHeader).toMatch(/^CA[0-9a-f]{32}$/);
      expect(call.sourceAddress).toBe(EDGE_SIG.address);
    }
    // Media path: relayed by eu-west in both directions for every call, never by us-east.
    expect(edgeMedia.size).toBe(3);
    for (const m of edgeMedia.values()) {
      expect(m.caller).toBeGreaterThan(0);
      expect(m.callee).toBeGreaterThan(0);
    }
    expect(homeMediaSessions).toBe(0);
    expect(home.node.media.snapshot().every((n) => n.load === 0)).toBe(true);
    // Accounted once per call (by the home node), not once per node the call crossed.
    const records = await waitFor(async () => {
      const n = await home.node.redis.zcard(k.accountCalls(ACCOUNT));
      return n >= 3 ? n : undefined;
    }, 5000, 'call records');
    await new Promise((r) => setTimeout(r, 500));
    expect(await home.node.redis.zcard(k.accountCalls(ACCOUNT))).toBe(records);
    expect(records).toBe(3);
  });

  it('a carrier dialing the home node directly gets its media anchored in the home region', async () => {
    // Straight to the home node from a carrier (not a peer): anchored here with media on a us-east node.
    const res = await runSipp({
      scenario: 'uac-nomedia.xml',
      target: `${HOME_SIG.address}:${HOME_SIG.port}`,
      localAddress: CARRIER.address,
      localPort: CARRIER.port,
      mediaPort: 20000,
      service: '+15551234567',
      calls: 1,
      callDurationMs: 300,
      timeoutMs: 30_000,
      extraArgs: [],
    });
    expect(res.successfulCalls, res.errorsTail).toBe(1);
    const placements = home.node.mediaPort.placements.local ?? 0;
    expect(placements).toBeGreaterThanOrEqual(1);
  });
});
