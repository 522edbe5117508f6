/**
 * The embedded default's recording wiring, on test addresses: a two-region
 * catalog (us-east 127.0.15.0/24, eu-west 127.0.16.0/24, 40 ms apart), its
 * link relay plan with the central services' upload and RTP ports, both
 * regions' central media services (`startCentralMediaSet`), and signaling
 * nodes configured by `regionConfigs` — what `make start` runs, in-process.
 *
 * Asserted: a recorded call entering eu-west for a number homed in us-east is
 * recorded by us-east's service, and everything between the edge and it —
 * region link, branch RTP, upload — went through the eu-west → us-east
 * relays; the home region (media elsewhere) does not try to record it. A
 * recorded call homed where it entered is recorded by that region's own
 * service, directly. Both services are listed in discovery.
 *
 * Addresses: 127.0.15.0/24 and 127.0.16.0/24 only.
 */
import { createSocket } from 'node:dgram';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCentralMediaSet, type CentralMediaSet } from '../../../infra/central-media-set.js';
import { parseConfig, type Config } from '../../../infra/config.js';
import { createMeshDiscovery, type MeshDiscovery } from '../../../infra/discovery.js';
import { planLinkRelays } from '../../../infra/link-delays.js';
import { startLinkRelays, type RunningLinkRelays } from '../../../infra/link-relays.js';
import { silentLogger } from '../../../regions/core/log.js';
import { regionConfigs } from '../../../infra/region-configs.js';
import { startSignalingNode, type SignalingNode } from '../../../infra/signaling-node.js';
import { parseRegionCatalog } from '../../../regions/catalog.js';
import { DelayRelay } from '../../../regions/link/delay-relay.js';
import { runSipp, startSipp, type SippInstance } from '../../support/sipp.js';
import { waitFor, waitUntil } from '../../support/wait.js';
import { fileLogger, startMediaSet, type MediaSet } from '../signaling/b2bua/harness.js';
import { TEST_REDIS_URL } from '../global-setup.js';

const PREFIX = 'it-cms:';
const LINK_DELAY_MS = 40;
const HTTP_PORT = 8091;
const RTP_PORTS = { min: 61000, max: 61031 };
const CARRIER = { address: '127.0.16.2', port: 5070 };
const FAR_END = { address: '127.0.16.50', port: 5090 };
const TENANT = (d: string): string => `AC${d.repeat(32)}`;

const catalog = parseRegionCatalog({
  regions: [
    {
      id: 'us-east',
      subnet: '127.0.15.0/24',
      signaling: { address: '127.0.15.1', port: 5060 },
      mediaNodes: [{ id: 'it-cms-us-media-1', address: '127.0.15.11', ngPort: 2223, rtpPortMin: 57000, rtpPortMax: 57999, capabilities: ['relay', 'record'] }],
      centralMedia: { address: '127.0.15.20', port: 8090, services: ['record'] },
    },
    {
      id: 'eu-west',
      subnet: '127.0.16.0/24',
      signaling: { address: '127.0.16.1', port: 5060 },
      mediaNodes: [{ id: 'it-cms-eu-media-1', address: '127.0.16.11', ngPort: 2223, rtpPortMin: 55000, rtpPortMax: 55999, capabilities: ['relay', 'record'] }],
      centralMedia: { address: '127.0.16.20', port: 8090, services: ['record'] },
    },
  ],
  links: { 'us-east': { 'eu-west': LINK_DELAY_MS }, 'eu-west': { 'us-east': LINK_DELAY_MS } },
  homeRegionRules: {
    numbers: {
      '+1555': { tenant: TENANT('1'), homeRegion: 'us-east' },
      '+4420': { tenant: TENANT('2'), homeRegion: 'eu-west' },
    },
  },
});

interface Region {
  config: Config;
  node: SignalingNode;
  media: MediaSet;
  end(): void;
}

describe('central media services of the embedded default, behind the link relays', () => {
  const runDir = mkdtempSync(join(tmpdir(), 'mesh-cms-'));
  const plan = planLinkRelays(catalog, { centralRtpPorts: RTP_PORTS, centralHttpPort: HTTP_PORT });
  const regions = new Map<string, Region>();
  let relays: RunningLinkRelays;
  let discovery: MeshDiscovery;
  let centrals: CentralMediaSet;
  let farEnd: SippInstance;
  const measured: Record<string, number> = {};

  const region = (id: string): Region => regions.get(id)!;
  const central = (id: string) => centrals.services.find((s) => s.region === id)!.node.service;
  const tcpRelay = (kind: string, from: string, to: string): DelayRelay => relays.relays.find((r) => r.spec.kind === kind && r.spec.from === from && r.spec.to === to)!.relay as DelayRelay;
  const traffic = (kind: string, from: string, to: string) => relays.traffic().find((t) => t.kind === kind && t.from === from && t.to === to)!;

  beforeAll(async () => {
    const base = parseConfig({
      runDir,
      redis: { url: TEST_REDIS_URL, keyPrefix: PREFIX },
      media: { healthIntervalMs: 250, ngTimeoutMs: 800 },
      routes: [
        { prefix: '+1555', destination: `sip:${FAR_END.address}:${FAR_END.port}` },
        { prefix: '+4420', destination: `sip:${FAR_END.address}:${FAR_END.port}` },
      ],
      recording: { prefixes: ['+15559', '+44209'], central: { region: 'us-east', address: '127.0.15.20', port: 8090 } },
      logLevel: 'warn',
    });
    relays = await startLinkRelays(plan);
    discovery = createMeshDiscovery(base, silentLogger);
    centrals = await startCentralMediaSet({ regions: catalog.regions, links: plan, dataDir: join(runDir, 'central-media'), registrar: discovery.registrar, log: silentLogger, httpPort: HTTP_PORT, rtpPorts: RTP_PORTS });
    for (const config of regionConfigs(catalog, base, plan)) {
      const logDir = mkdtempSync(join(runDir, `${config.region}-`));
      const media = await startMediaSet(config.media.nodes, logDir, `${config.sip.address}:${config.media.dtmfEventPort}`);
      const logs = fileLogger(logDir);
      regions.set(config.region, { config, media, node: await startSignalingNode(config, logs.log), end: logs.end });
    }
    farEnd = await startSipp({ scenario: 'uas-echo.xml', localAddress: FAR_END.address, localPort: FAR_END.port, mediaPort: 22000, rtpEcho: true, timeoutMs: 120_000 });
    await farEnd.ready;
    // The edge's region link to us-east's service is up (through the relay) before the first call.
    await waitUntil(() => tcpRelay('region-link', 'eu-west', 'us-east').activeConnections > 0, 5000, 'eu-west → us-east region link up');
  });

  afterAll(async () => {
    await farEnd?.stop(500);
    for (const r of regions.values()) {
      await r.node.close();
      await r.media.close();
      r.end();
    }
    await centrals?.close();
    await discovery?.close();
    await relays?.close();
    console.log('central media set, measured:', JSON.stringify(measured));
  });

  /** One call entering eu-west, the caller sending 20 ms PCMU packets (paced by the clock) for as long as the edge holds it. */
  async function callAtEdge(dialed: string, holdMs: number): Promise<{ sid: string; sentMs: number; packets: number }> {
    const edge = region('eu-west').node;
    const sipp = runSipp({
      scenario: 'uac-nomedia.xml',
      target: `${edge.config.sip.address}:${edge.config.sip.port}`,
      localAddress: CARRIER.address,
      localPort: CARRIER.port,
      mediaPort: 20000,
      service: dialed,
      calls: 1,
      callDurationMs: holdMs,
      timeoutMs: 30_000,
    });
    const call = await waitFor(() => [...edge.b2bua.calls.values()].find((c) => c.state === 'answered' && c.sdp.toA !== undefined && c.to === dialed), 5000, 'answered call');
    const sdp = call.sdp.toA!;
    const address = /^c=IN IP4 (\S+)/m.exec(sdp)![1]!;
    const port = Number(/^m=audio (\d+)/m.exec(sdp)![1]);
    const sock = createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, CARRIER.address, () => r()));
    let seq = 0;
    let stoppedAt: number | undefined;
    const started = performance.now();
    const timer = setInterval(() => {
      while (seq * 20 <= performance.now() - started) {
        const p = Buffer.alloc(172, seq % 251);
        p[0] = 0x80;
        p[1] = 0; // PCMU
        p.writeUInt16BE(seq & 0xffff, 2);
        p.writeUInt32BE((seq * 160) >>> 0, 4);
        p.writeUInt32BE(0x5eed0001, 8);
        seq++;
        sock.send(p, port, address);
      }
      if (!edge.b2bua.calls.has(call.sid)) {
        clearInterval(timer);
        stoppedAt ??= performance.now();
      }
    }, 10);
    const res = await sipp;
    clearInterval(timer);
    const sentMs = (stoppedAt ?? performance.now()) - started;
    sock.close();
    expect(res.successfulCalls, res.errorsTail).toBe(1);
    return { sid: call.sid, sentMs, packets: seq };
  }

  it('lists every region\'s central media service in discovery, with its upload URL', async () => {
    await waitUntil(async () => (await discovery.discovery.list({ service: 'central-media' })).length === 2, 5000, 'central services listed');
    const listed = await discovery.discovery.list({ service: 'central-media', capability: 'record' });
    expect(listed.map((s) => [s.id, s.region, s.address, s.port, s.meta.uploadUrl]).sort()).toEqual([
      ['eu-west-central-1', 'eu-west', '127.0.16.20', 8090, `http://127.0.16.20:${HTTP_PORT}`],
      ['us-east-central-1', 'us-east', '127.0.15.20', 8090, `http://127.0.15.20:${HTTP_PORT}`],
    ]);
  });

  it('records a call homed in another region at its home, with region link, branch RTP and upload through the link relays', async () => {
    const holdMs = 4000;
    const rtpBefore = traffic('central-rtp', 'eu-west', 'us-east').datagrams!.toTarget;
    const call = await callAtEdge('+15559000001', holdMs);
    const edge = region('eu-west').node;
    const delivered = await edge.recorder!.whenDelivered(call.sid, 'caller', 20_000);
    expect(delivered.callSid).toBe(call.sid);

    const rec = await central('us-east').recording(call.sid, 'caller');
    expect(rec).toMatchObject({ source: 'upload', confirmed: true });
    const errPct = (100 * Math.abs(rec!.metadata.duration - call.sentMs / 1000)) / (call.sentMs / 1000);
    measured.homedElsewhereDurationErrPct = Math.round(errPct * 10) / 10;
    expect(errPct).toBeLessThan(5);
    expect(await central('eu-west').recording(call.sid, 'caller')).toBeUndefined();

    // The live branch crossed the eu-west → us-east RTP relay: (nearly) every packet the caller sent.
    const rtp = traffic('central-rtp', 'eu-west', 'us-east');
    const forwarded = rtp.datagrams!.toTarget - rtpBefore;
    measured.branchDatagramsViaRelay = forwarded;
    measured.callerPackets = call.packets;
    expect(forwarded).toBeGreaterThan(0.9 * call.packets);
    expect(forwarded).toBeLessThanOrEqual(call.packets);
    expect(rtp.activePorts.length).toBeGreaterThan(0);
    // The edge was told the relay entry in its own subnet, never the service's own address.
    for (const p of rtp.activePorts) expect(p).toBeGreaterThanOrEqual(RTP_PORTS.min);
    expect(traffic('region-link', 'eu-west', 'us-east').connections!.accepted).toBeGreaterThanOrEqual(1);
    expect(traffic('central-upload', 'eu-west', 'us-east').connections!.accepted).toBeGreaterThanOrEqual(1);
    // The home region anchored the call with its media at the edge: it left the recording to the edge.
    expect(region('us-east').node.recorder!.counters).toMatchObject({ started: 0, failed: 0 });
    expect(edge.recorder!.counters).toMatchObject({ started: 1, stored: 1, failed: 0, delivered: 1 });
  });

  it('records a call homed where it entered at that region\'s own service, without crossing a relay', async () => {
    const rtpBefore = relays.traffic().filter((t) => t.kind === 'central-rtp').reduce((n, t) => n + t.datagrams!.toTarget, 0);
    const uploadsBefore = traffic('central-upload', 'eu-west', 'us-east').connections!.accepted;
    const call = await callAtEdge('+44209000002', 3000);
    await region('eu-west').node.recorder!.whenDelivered(call.sid, 'caller', 20_000);
    const rec = await central('eu-west').recording(call.sid, 'caller');
    expect(rec).toMatchObject({ source: 'upload', confirmed: true });
    expect(Math.abs(rec!.metadata.duration - call.sentMs / 1000) / (call.sentMs / 1000)).toBeLessThan(0.05);
    expect(await central('us-east').recording(call.sid, 'caller')).toBeUndefined();
    expect(relays.traffic().filter((t) => t.kind === 'central-rtp').reduce((n, t) => n + t.datagrams!.toTarget, 0)).toBe(rtpBefore);
    expect(traffic('central-upload', 'eu-west', 'us-east').connections!.accepted).toBe(uploadsBefore);
  });
});
