/**
 * The link cut drill during recorded calls (issue 11, Tests, fourth item).
 * Two regions wired as `make start` wires them (catalog → link relay plan →
 * relays; signaling nodes from `regionConfigs`; us-east's central media
 * service from `startCentralMediaSet`), eu-west on 127.0.27.0/24 and us-east
 * on 127.0.28.0/24. The drill goes through the operator API
 * (`POST /v1/regions/{a}/links/{b}`, real HTTP, real Redis) and the relays
 * follow it with `followLinkCuts`, as the launcher's do. So the cut drops
 * everything between the regions: SIP between the signaling nodes, the
 * region link to the central service, the branches' RTP and the uploads.
 *
 * Six calls enter eu-west for a recorded number homed in us-east (SIPp as
 * carrier and as callee; the caller's RTP from the test, paced by the clock).
 * The link is cut while all six are up and restored 6 s later. Three callers
 * hang up during the cut (their BYE crosses the cut link to the home region
 * and must get there after the restore), three after it.
 *
 * Asserted: every call stays up until its caller hangs up and ends cleanly on
 * both sides (both SIPps: all successful, none failed); every recording
 * reaches us-east's central service as the confirmed upload of the edge's
 * local copy, byte-identical to it and as long as the caller's media
 * (including the cut), with uploads attempted during the cut retried until
 * confirmed; the live copies show the gap; and the tally the platform keeps
 * (calls placed / completed / dropped, from the edge's counters and call
 * records) equals SIPp's statistics.
 *
 * Addresses: 127.0.27.0/24 and 127.0.28.0/24 only.
 */
import { createHash } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OpenAPIHono } from '@hono/zod-openapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOperatorApp } from '../../../control-plane/operator/app.js';
import { startCentralMediaSet, type CentralMediaSet } from '../../../infra/central-media-set.js';
import { parseConfig } from '../../../infra/config.js';
import { planLinkRelays } from '../../../infra/link-delays.js';
import { followLinkCuts, startLinkRelays, type LinkCutFollower, type RunningLinkRelays } from '../../../infra/link-relays.js';
import { regionConfigs } from '../../../infra/region-configs.js';
import { startSignalingNode, type SignalingNode } from '../../../infra/signaling-node.js';
import type { BranchMetadata } from '../../../media/central/metadata.js';
import { parseRegionCatalog } from '../../../regions/catalog.js';
import { silentLogger } from '../../../regions/core/log.js';
import { listLinkCuts } from '../../../regions/store/link-cuts.js';
import { runSipp, startSipp, type SippInstance, type SippResult } from '../../support/sipp.js';
import { waitUntil } from '../../support/wait.js';
import { basic, serveApp, type Served } from '../control-plane/operator-harness.js';
import { TEST_REDIS_URL } from '../global-setup.js';
import { fileLogger, startMediaSet, type MediaSet } from '../signaling/b2bua/harness.js';

const PREFIX = 'it-lcr:';
const EDGE = 'eu-west';
const HOME = 'us-east';
const LINK_DELAY_MS = 20;
const HTTP_PORT = 8091;
const RTP_PORTS = { min: 61000, max: 61031 };
const OP = { username: 'ops', password: 'link-cut-recording' };
/**
 * SIP T1 of both signaling nodes. 100 ms puts Timer F (64·T1, RFC 3261
 * §17.1.2.2) at 6.4 s, shorter than the cut: a BYE sent across the cut link
 * outlives its transaction, as it would with the default T1 (Timer F 32 s) in
 * a cut of a minute, which this test cannot afford to wait for.
 */
const T1_MS = 100;
const TENANT = `AC${'7'.repeat(32)}`;
/** Callees, in the edge's subnet (their RTP stays local): one that waits for the caller's BYE, one that hangs up. */
const ECHO_CALLEE = { address: '127.0.27.50', port: 5090, mediaPort: 22000 };
const BYE_CALLEE = { address: '127.0.27.51', port: 5090, mediaPort: 22100 };
/** ms from answer until a party hangs up: during the cut (about 1 s after the answers until 9 s later) or after it. */
const DURING_CUT_MS = 2500;
const AFTER_CUT_MS = 14_000;
/** The cut starts about 1 s after the last answer and lasts this long. */
const CUT_MS = 9000;
const CALLS_PER_GROUP = 3;

/**
 * Three groups of recorded calls, each from its own carrier SIPp: the caller
 * hangs up during the cut (its BYE crosses the cut link to the home region),
 * the callee hangs up during the cut (its BYE crosses it to the edge), the
 * caller hangs up after the restore.
 */
const GROUPS = [
  { name: 'caller-bye-in-cut', dialed: '+15559000001', carrier: { address: '127.0.27.2', port: 5070, mediaPort: 20000 }, scenario: 'uac-nomedia.xml', holdMs: DURING_CUT_MS as number | undefined },
  { name: 'callee-bye-in-cut', dialed: '+15558000002', carrier: { address: '127.0.27.3', port: 5070, mediaPort: 20100 }, scenario: 'uac-recv-bye.xml', holdMs: undefined },
  { name: 'caller-bye-after', dialed: '+15559000003', carrier: { address: '127.0.27.4', port: 5070, mediaPort: 20200 }, scenario: 'uac-nomedia.xml', holdMs: AFTER_CUT_MS },
] as const;

const catalog = parseRegionCatalog({
  regions: [
    {
      id: EDGE,
      subnet: '127.0.27.0/24',
      signaling: { address: '127.0.27.1', port: 5060 },
      mediaNodes: [{ id: 'it-lcr-eu-media-1', address: '127.0.27.11', ngPort: 2223, rtpPortMin: 55000, rtpPortMax: 55999, capabilities: ['relay', 'record'] }],
      centralMedia: { address: '127.0.27.20', port: 8090 },
    },
    {
      id: HOME,
      subnet: '127.0.28.0/24',
      signaling: { address: '127.0.28.1', port: 5060 },
      mediaNodes: [{ id: 'it-lcr-us-media-1', address: '127.0.28.11', ngPort: 2223, rtpPortMin: 57000, rtpPortMax: 57999, capabilities: ['relay', 'record'] }],
      centralMedia: { address: '127.0.28.20', port: 8090, services: ['record'] },
    },
  ],
  links: { [EDGE]: { [HOME]: LINK_DELAY_MS }, [HOME]: { [EDGE]: LINK_DELAY_MS } },
  homeRegionRules: { numbers: { '+1555': { tenant: TENANT, homeRegion: HOME } } },
});

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

interface Region {
  node: SignalingNode;
  media: MediaSet;
  end(): void;
}

/** The caller's RTP of one answered call: 20 ms PCMU packets, paced by the clock, for as long as the edge holds the call. */
interface CallerStream {
  sid: string;
  /** The dialed number. */
  dialed: string;
  /** The edge media node's address and port for the caller (from the SDP the carrier got). */
  rtp: { address: string; port: number };
  ssrc: number;
  started: number;
  stopped: number | undefined;
  packets: number;
}

/**
 * Starts a caller stream for every call the edge answers (to the rtpengine
 * address in the SDP the carrier got) and stops it when the edge ends the
 * call. A late tick sends what is due, so the audio lasts as long as the call
 * (a real source's RTP timestamps follow its sampling clock, RFC 3550 §5.1).
 */
class CallerMedia {
  readonly streams = new Map<string, CallerStream>();
  private readonly timer: NodeJS.Timeout;

  private constructor(
    private readonly node: SignalingNode,
    private readonly sock: Socket,
  ) {
    this.timer = setInterval(() => this.tick(), 10);
  }

  static async start(node: SignalingNode, address: string): Promise<CallerMedia> {
    const sock = createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, address, () => r()));
    return new CallerMedia(node, sock);
  }

  private tick(): void {
    const now = performance.now();
    for (const c of this.node.b2bua.calls.values()) {
      if (c.state !== 'answered' || c.sdp.toA === undefined || this.streams.has(c.sid)) continue;
      const address = /^c=IN IP4 (\S+)/m.exec(c.sdp.toA)?.[1];
      const port = Number(/^m=audio (\d+)/m.exec(c.sdp.toA)?.[1]);
      if (address === undefined || !Number.isInteger(port)) continue;
      this.streams.set(c.sid, { sid: c.sid, dialed: c.to, rtp: { address, port }, ssrc: 0x5eed0100 + this.streams.size, started: now, stopped: undefined, packets: 0 });
    }
    for (const s of this.streams.values()) {
      if (s.stopped !== undefined) continue;
      if (!this.node.b2bua.calls.has(s.sid)) {
        s.stopped = now;
        continue;
      }
      while (s.packets * 20 <= now - s.started) {
        const p = Buffer.alloc(172, s.packets % 251);
        p[0] = 0x80;
        p[1] = 0; // PCMU
        p.writeUInt16BE(s.packets & 0xffff, 2);
        p.writeUInt32BE((s.packets * 160) >>> 0, 4);
        p.writeUInt32BE(s.ssrc, 8);
        s.packets++;
        this.sock.send(p, s.rtp.port, s.rtp.address);
      }
    }
  }

  close(): void {
    // One last look: a call that ended since the previous tick (SIPp may finish and we close within 10 ms,
    // or later on a loaded machine) gets its stop time now rather than never.
    this.tick();
    clearInterval(this.timer);
    this.sock.close();
  }
}

describe('link cut drill during recorded calls (eu-west edge, us-east home)', () => {
  const runDir = mkdtempSync(join(tmpdir(), 'mesh-lcr-'));
  const plan = planLinkRelays(catalog, { centralRtpPorts: RTP_PORTS, centralHttpPort: HTTP_PORT });
  const regions = new Map<string, Region>();
  let relays: RunningLinkRelays;
  let follower: LinkCutFollower;
  let centrals: CentralMediaSet;
  let operator: Served;
  const callees = new Map<string, SippInstance>();
  const measured: Record<string, unknown> = {};

  const edge = (): SignalingNode => regions.get(EDGE)!.node;
  const home = (): SignalingNode => regions.get(HOME)!.node;
  const central = () => centrals.services.find((s) => s.region === HOME)!.node.service;

  async function drill(action: 'cut' | 'restore'): Promise<void> {
    const res = await fetch(`${operator.base}/v1/regions/${EDGE}/links/${HOME}`, {
      method: 'POST',
      headers: { authorization: basic(OP.username, OP.password), 'content-type': 'application/json' },
      body: JSON.stringify({ action }),
      signal: AbortSignal.timeout(2000),
    });
    const body = await res.text();
    expect(res.status, body).toBe(200);
    expect((JSON.parse(body) as { state: string }).state).toBe(action === 'cut' ? 'cut' : 'open');
  }

  beforeAll(async () => {
    const base = parseConfig({
      runDir,
      redis: { url: TEST_REDIS_URL, keyPrefix: PREFIX },
      sip: { t1: T1_MS },
      media: { healthIntervalMs: 250, ngTimeoutMs: 800 },
      routes: [
        { prefix: '+15559', destination: `sip:${ECHO_CALLEE.address}:${ECHO_CALLEE.port}` },
        { prefix: '+15558', destination: `sip:${BYE_CALLEE.address}:${BYE_CALLEE.port}` },
      ],
      recording: { prefixes: ['+15559', '+15558'], central: { region: HOME, address: '127.0.28.20', port: 8090 } },
      logLevel: 'warn',
    });
    relays = await startLinkRelays(plan);
    centrals = await startCentralMediaSet({ regions: catalog.regions, links: plan, dataDir: join(runDir, 'central-media'), log: silentLogger, httpPort: HTTP_PORT, rtpPorts: RTP_PORTS });
    for (const config of regionConfigs(catalog, base, plan)) {
      const logDir = mkdtempSync(join(runDir, `${config.region}-`));
      const media = await startMediaSet(config.media.nodes, logDir, `${config.sip.address}:${config.media.dtmfEventPort}`);
      const logs = fileLogger(logDir);
      regions.set(config.region, { media, node: await startSignalingNode(config, logs.log), end: logs.end });
    }
    const stale = await edge().redis.keys(`${PREFIX}*`);
    if (stale.length > 0) await edge().redis.del(...stale);

    // The operator API and the relays' follower share Redis, as in `make start`.
    const root = new OpenAPIHono();
    root.route(
      '/v1',
      createOperatorApp({
        redis: edge().redis,
        keyPrefix: PREFIX,
        operator: OP,
        regions: catalog.regions.map((r) => ({ id: r.id })),
        nodes: () => [],
        drills: { kill: async () => ({ pid: 1, signal: 'SIGKILL' as const, process: 'none' }) },
        placementTrace: async () => undefined,
      }),
    );
    operator = await serveApp(root);
    follower = followLinkCuts(relays, { read: () => listLinkCuts(edge().redis, PREFIX), intervalMs: 500 });

    callees.set('echo', await startSipp({ scenario: 'uas-echo.xml', localAddress: ECHO_CALLEE.address, localPort: ECHO_CALLEE.port, mediaPort: ECHO_CALLEE.mediaPort, rtpEcho: true, timeoutMs: 120_000 }));
    callees.set('bye', await startSipp({ scenario: 'uas-bye.xml', localAddress: BYE_CALLEE.address, localPort: BYE_CALLEE.port, mediaPort: BYE_CALLEE.mediaPort, rtpEcho: true, callDurationMs: DURING_CUT_MS, timeoutMs: 120_000 }));
    for (const c of callees.values()) await c.ready;
    const link = relays.relays.find((r) => r.spec.kind === 'region-link' && r.spec.from === EDGE && r.spec.to === HOME)!.relay as { activeConnections: number };
    await waitUntil(() => link.activeConnections > 0, 5000, `${EDGE} → ${HOME} region link up`);
  });

  afterAll(async () => {
    follower?.close();
    for (const c of callees.values()) await c.stop(500);
    await operator?.close();
    for (const r of regions.values()) {
      await r.node.close();
      await r.media.close();
      r.end();
    }
    await centrals?.close();
    await relays?.close();
    console.log('link cut during recorded calls, measured:', JSON.stringify(measured));
  });

  it('keeps every call up, loses no recording and counts what SIPp saw', async () => {
    const e = edge();
    const before = { ...e.b2bua.counters, failures: { ...e.b2bua.counters.failures } };
    expect(e.b2bua.byeRetries.counters.retried + home().b2bua.byeRetries.counters.retried).toBe(0);
    const uploader = (await e.recorder!.localStore())!.uploader;
    const attemptsBefore = uploader.attempts;
    const callerMedia = await CallerMedia.start(e, '127.0.27.5');

    const runs = GROUPS.map((g) =>
      runSipp({
        scenario: g.scenario,
        target: '127.0.27.1:5060',
        localAddress: g.carrier.address,
        localPort: g.carrier.port,
        mediaPort: g.carrier.mediaPort,
        service: g.dialed,
        calls: CALLS_PER_GROUP,
        rate: 10,
        ...(g.holdMs === undefined ? {} : { callDurationMs: g.holdMs }),
        timeoutMs: 40_000,
      }),
    );
    let cutAt = 0;
    let restoredAt = 0;
    let sipp: SippResult[];
    let byesAcross: Promise<number> | undefined;
    try {
      await waitUntil(() => callerMedia.streams.size === GROUPS.length * CALLS_PER_GROUP, 5000, 'every call answered at the edge');
      await new Promise((r) => setTimeout(r, 1000));
      await drill('cut');
      cutAt = Date.now();
      measured.cutAppliedMs = await waitUntil(() => follower.applied.has(`${EDGE}|${HOME}`), 1500, 'cut applied to the relays');
      await new Promise((r) => setTimeout(r, CUT_MS));
      await drill('restore');
      restoredAt = Date.now();
      // How long after the restore the BYEs that met the cut were answered, both ways.
      byesAcross = waitUntil(
        () => e.b2bua.byeRetries.counters.answeredAfterRetry === CALLS_PER_GROUP && home().b2bua.byeRetries.counters.answeredAfterRetry === CALLS_PER_GROUP,
        15_000,
        'BYEs sent during the cut answered',
      );
      measured.restoreAppliedMs = await waitUntil(() => !follower.applied.has(`${EDGE}|${HOME}`), 1500, 'restore applied to the relays');
    } finally {
      // SIPp finishes either way; a failed step above must not leave it running.
      sipp = await Promise.all(runs);
      callerMedia.close();
    }
    measured.sippByGroup = Object.fromEntries(GROUPS.map((g, i) => [g.name, { created: sipp[i]!.createdCalls, successful: sipp[i]!.successfulCalls, failed: sipp[i]!.failedCalls }]));
    for (const r of sipp) expect(r.failedCalls, r.errorsTail).toBe(0);

    // ---- the tally the platform keeps equals SIPp's statistics
    const streams = [...callerMedia.streams.values()];
    const records = await Promise.all(streams.map((s) => e.store.load(s.sid)));
    const endReasons = records.map((r) => r?.endReason ?? 'missing');
    measured.edgeEndReasons = endReasons;
    // Completed: ended by a party's BYE. Dropped: answered, then ended by anything else (a timeout, an error, a media failure).
    const byParty = (r: string): boolean => r === 'bye-from-a' || r === 'bye-from-b';
    const failures = (f: Record<number, number>): number => Object.values(f).reduce((n, x) => n + x, 0);
    const tally = {
      placed: e.b2bua.counters.attempts - before.attempts,
      answered: e.b2bua.counters.answered - before.answered,
      completed: endReasons.filter(byParty).length,
      dropped: endReasons.filter((r) => r !== 'missing' && !byParty(r)).length,
      failed: failures(e.b2bua.counters.failures) - failures(before.failures),
      stillUp: streams.filter((s) => e.b2bua.calls.has(s.sid)).length,
    };
    // SIPp cannot tell a call dropped after its answer from one refused: both are failed (or, killed at its timeout, still current).
    const seen = {
      placed: sipp.reduce((n, r) => n + r.createdCalls, 0),
      completed: sipp.reduce((n, r) => n + r.successfulCalls, 0),
      notCompleted: sipp.reduce((n, r) => n + r.failedCalls + r.currentCalls, 0),
    };
    measured.tally = tally;
    measured.sipp = seen;
    expect(seen.placed).toBe(GROUPS.length * CALLS_PER_GROUP);
    expect({ placed: tally.placed, completed: tally.completed, notCompleted: tally.dropped + tally.failed + tally.stillUp }).toEqual(seen);
    expect(tally).toMatchObject({ answered: seen.placed, dropped: 0, failed: 0, stillUp: 0 });

    // ---- each group ended when its party hung up; the BYEs that met the cut crossed after the restore
    const groupOf = (sid: string): string => GROUPS.find((g) => g.dialed === callerMedia.streams.get(sid)?.dialed)!.name;
    const ended = new Map(records.map((r) => [r!.callSid, r!.endedAt!]));
    const inGroup = (name: string) => streams.filter((s) => groupOf(s.sid) === name);
    for (const name of GROUPS.map((g) => g.name)) expect(inGroup(name)).toHaveLength(CALLS_PER_GROUP);
    for (const s of inGroup('caller-bye-in-cut')) {
      expect(ended.get(s.sid)).toBeGreaterThan(cutAt);
      expect(ended.get(s.sid)).toBeLessThan(restoredAt);
    }
    // The callee's BYE reached the edge only after the restore: until then the caller stayed connected (and recorded).
    for (const s of inGroup('callee-bye-in-cut')) expect(ended.get(s.sid)).toBeGreaterThan(restoredAt);
    measured.calleeByeReachedEdgeAfterRestoreMs = Math.max(...inGroup('callee-bye-in-cut').map((s) => ended.get(s.sid)! - restoredAt));
    for (const s of inGroup('caller-bye-after')) expect(ended.get(s.sid)).toBeGreaterThan(restoredAt);
    // The caller's BYE reached the home region (and the callee) only after the restore.
    measured.byesAnsweredAfterRestoreMs = await byesAcross!;
    await waitUntil(() => home().b2bua.calls.size === 0, 5000, 'home region ended every call');
    // Those BYEs outlived their transactions (Timer F) during the cut and were sent again until answered:
    // the edge's to the home region for the callers that hung up, the home's to the edge for the callees.
    measured.byeRetries = { edge: { ...e.b2bua.byeRetries.counters }, home: { ...home().b2bua.byeRetries.counters } };
    for (const side of [e, home()]) {
      expect(side.b2bua.byeRetries.counters).toMatchObject({ answeredAfterRetry: CALLS_PER_GROUP, gaveUp: 0 });
      expect(side.b2bua.byeRetries.pending).toBe(0);
    }
    const calleeRes = { echo: await callees.get('echo')!.stop(500), bye: await callees.get('bye')!.stop(500) };
    callees.clear();
    measured.calleeSipp = Object.fromEntries(Object.entries(calleeRes).map(([k, r]) => [k, { successful: r.successfulCalls, failed: r.failedCalls }]));
    expect(calleeRes.echo.successfulCalls, calleeRes.echo.errorsTail).toBe(2 * CALLS_PER_GROUP);
    expect(calleeRes.bye.successfulCalls, calleeRes.bye.errorsTail).toBe(CALLS_PER_GROUP);
    expect(calleeRes.echo.failedCalls + calleeRes.bye.failedCalls).toBe(0);

    // ---- no recording lost: each one is the confirmed upload of the edge's local copy, as long as the caller's media
    const delivered = await Promise.all(streams.map((s) => e.recorder!.whenDelivered(s.sid, 'caller', 20_000)));
    measured.deliveredAfterRestoreMs = delivered.map((d) => d.at - restoredAt);
    const recordings: { group: string; sentS: number; upload: BranchMetadata; live: BranchMetadata | undefined }[] = [];
    for (const s of streams) {
      const rec = await central().recording(s.sid, 'caller');
      expect(rec).toMatchObject({ source: 'upload', confirmed: true });
      const wav = readFileSync(rec!.wav);
      expect(sha(wav)).toBe(rec!.metadata.sha256);
      expect(sha(wav)).toBe(sha(readFileSync(join(runDir, 'media-store', e.nodeId, s.sid, 'caller.live.wav'))));
      const sentS = (s.stopped! - s.started) / 1000;
      expect(Math.abs(rec!.metadata.duration - sentS) / sentS).toBeLessThan(0.05);
      let live: BranchMetadata | undefined;
      try {
        live = JSON.parse(readFileSync(join(runDir, 'central-media', HOME, s.sid, 'caller.live.json'), 'utf8')) as BranchMetadata;
      } catch {
        live = undefined;
      }
      recordings.push({ group: groupOf(s.sid), sentS, upload: rec!.metadata, live });
    }
    measured.recordings = recordings.map((r) => ({
      group: r.group,
      sentS: Math.round(r.sentS * 100) / 100,
      uploadS: r.upload.duration,
      uploadBytes: r.upload.bytes,
      uploadLost: r.upload.lost,
      liveS: r.live?.duration,
      livePackets: r.live?.packets,
      liveLost: r.live?.lost,
    }));
    measured.uploadAttempts = uploader.attempts - attemptsBefore;
    measured.uploadRetries = uploader.attempts - attemptsBefore - streams.length;
    // The copies of the calls that ended during the cut were first tried while it lasted: retried until confirmed.
    expect(uploader.attempts - attemptsBefore).toBeGreaterThan(streams.length);
    expect(uploader.list()).toEqual([]);
    // The live copies missed the cut, so none of them is the recording.
    for (const r of recordings) {
      expect(r.live).toBeDefined();
      expect(r.live!.sha256).not.toBe(r.upload.sha256);
    }
    expect(e.recorder!.counters).toMatchObject({ started: streams.length, local: streams.length, delivered: streams.length });
    expect(central().openBranches).toBe(0);
  });
});
