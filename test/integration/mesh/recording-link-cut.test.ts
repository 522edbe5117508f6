/**
 * Recording branches survive a region-link cut (issue 3, Deliver 5 and
 * Failover (c)). A call enters at the eu-west edge for a tenant homed in
 * us-east, to a number that must be recorded. The caller's RTP is forked
 * twice by the edge rtpengine: to us-east's central media service (the live
 * branch, over an emulated 40 ms inter-region path) and to the edge's local
 * store. Everything between the edge and the central service — the region
 * link (TCP), the branch's RTP (UDP) and the upload endpoint (HTTP) — runs
 * through user-space relays, so a test can cut it. The SIP path between the
 * signaling nodes is not cut.
 *
 * Asserted: after the cut heals (during the call, or only after it ended
 * and the edge restarted), the central service holds the edge's local copy
 * as the recording — same SHA-256, duration within 5 % of the call — while
 * its live copy shows the gap; one `media-branches` usage per branch for the
 * number's account. Measured: link restoration → confirmed delivery.
 *
 * Addresses: 127.0.17.0/24 only.
 */
import { createHash } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../../infra/config.js';
import { startCentralMediaNode, type CentralMediaNode } from '../../../media/central/central-media-node.js';
import { startSignalingNode, type SignalingNode } from '../../../infra/signaling-node.js';
import type { BranchMetadata } from '../../../media/central/metadata.js';
import { loadManifest } from '../../../media/store/manifest.js';
import { DelayRelay } from '../../../regions/link/delay-relay.js';
import { UdpDelayRelay } from '../../../regions/link/udp-delay-relay.js';
import { keys } from '../../../regions/store/keys.js';
import { usageField } from '../../../regions/store/usage.js';
import { runSipp, startSipp, type SippInstance } from '../../support/sipp.js';
import { waitFor, waitUntil } from '../../support/wait.js';
import { fileLogger, startMediaSet, startTestRegion, testRegionConfig, type MediaSet, type TestRegion } from '../signaling/b2bua/harness.js';

const EDGE_SIG = { address: '127.0.17.1', port: 5060 };
const CARRIER = { address: '127.0.17.2', port: 5070 };
const FAR_END = { address: '127.0.17.50', port: 5090 };
const EDGE_MEDIA = { id: 'it-cut-eu-west-media-1', address: '127.0.17.11', ngPort: 2223, rtpPortMin: 55000, rtpPortMax: 55999 };
const HOME_SIG = { address: '127.0.17.101', port: 5060 };
const HOME_MEDIA = { id: 'it-cut-us-east-media-1', address: '127.0.17.111', ngPort: 2223, rtpPortMin: 57000, rtpPortMax: 57999 };
const CENTRAL = '127.0.17.120';
const CENTRAL_HTTP_PORT = 59990;
/** The inter-region side of the relays: region link, upload endpoint, branch RTP. */
const RELAY = '127.0.17.121';
const UPLOAD_RELAY_PORT = 59991;
const RTP_RELAY = '127.0.17.122';
const LINK_DELAY_MS = 40;
const PREFIX = 'it-rec-cut:';
const EDGE_NODE_ID = 'it-cut-eu-west-sig';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** The edge region, restartable: its run folder (and with it the upload manifest) survives a restart. */
interface Edge {
  node: SignalingNode;
  config: Config;
  restart(): Promise<void>;
  close(): Promise<void>;
}

async function startEdge(linkPort: number): Promise<Edge> {
  const runDir = mkdtempSync(join(tmpdir(), 'mesh-rec-cut-edge-'));
  const config = testRegionConfig(
    {
      keyPrefix: PREFIX,
      region: 'eu-west',
      nodeId: EDGE_NODE_ID,
      sip: EDGE_SIG,
      mediaNodes: [EDGE_MEDIA],
      routes: [],
      mesh: { peers: [{ region: 'us-east', ...HOME_SIG }], homeRules: [{ prefix: '+1555', region: 'us-east' }] },
      recording: { prefixes: ['+1555'], central: { region: 'us-east', address: RELAY, port: linkPort } },
    },
    runDir,
  );
  const media: MediaSet = await startMediaSet([EDGE_MEDIA], runDir);
  let logs = fileLogger(runDir);
  const edge: Edge = {
    node: await startSignalingNode(config, logs.log),
    config,
    async restart() {
      await edge.node.close();
      logs.end();
      logs = fileLogger(mkdtempSync(join(runDir, 'restart-')));
      edge.node = await startSignalingNode(config, logs.log);
    },
    async close() {
      await edge.node.close();
      await media.close();
      logs.end();
    },
  };
  return edge;
}

/** This file's keys (numbers, usage, call state) from earlier runs must not count. */
async function clearKeys(node: SignalingNode): Promise<void> {
  const ks = await node.redis.keys(`${PREFIX}*`);
  if (ks.length > 0) await node.redis.del(...ks);
}

/** Cut or heal every path between the edge and the central service. */
class InterRegionPath {
  /** One per branch, added as branches are set up. */
  readonly rtp: UdpDelayRelay[] = [];
  constructor(
    readonly link: DelayRelay,
    readonly upload: DelayRelay,
  ) {}

  setBlocked(blocked: boolean): void {
    this.link.setBlocked(blocked);
    this.upload.setBlocked(blocked);
    for (const r of this.rtp) r.setBlocked(blocked);
  }

  async close(): Promise<void> {
    await Promise.all([this.link.close(), this.upload.close(), ...this.rtp.map((r) => r.close())]);
  }
}

describe('recording branches across a region-link cut', () => {
  let edge: Edge;
  let home: TestRegion;
  let central: CentralMediaNode;
  let path: InterRegionPath;
  let farEnd: SippInstance;
  const dataDir = mkdtempSync(join(tmpdir(), 'mesh-rec-cut-central-'));
  const measured: Record<string, number> = {};

  beforeAll(async () => {
    const upload = new DelayRelay({ listenHost: RELAY, listenPort: UPLOAD_RELAY_PORT, targetHost: CENTRAL, targetPort: CENTRAL_HTTP_PORT, delayMs: LINK_DELAY_MS, localAddress: RELAY });
    await upload.listen();
    central = await startCentralMediaNode({
      region: 'us-east',
      nodeId: 'it-cut-central',
      rtpAddress: CENTRAL,
      portMin: 59000,
      portMax: 59499,
      httpPort: CENTRAL_HTTP_PORT,
      uploadUrl: `http://${RELAY}:${UPLOAD_RELAY_PORT}`,
      dataDir,
      linkHost: CENTRAL,
      linkPort: 0,
      // Each branch's RTP crosses the emulated inter-region path.
      rtpPath: async (_branch, at) => {
        const relay = new UdpDelayRelay({ listenHost: RTP_RELAY, targetHost: at.address, targetPort: at.port, delayMs: LINK_DELAY_MS });
        const ends = await relay.start();
        path.rtp.push(relay);
        return ends.listen;
      },
    });
    const link = new DelayRelay({ listenHost: RELAY, listenPort: 0, targetHost: CENTRAL, targetPort: central.linkPort, delayMs: LINK_DELAY_MS, localAddress: RELAY });
    const linkEnd = await link.listen();
    path = new InterRegionPath(link, upload);

    home = await startTestRegion({
      keyPrefix: PREFIX,
      region: 'us-east',
      nodeId: 'it-cut-us-east-sig',
      sip: HOME_SIG,
      mediaNodes: [HOME_MEDIA],
      routes: [{ prefix: '+1555', destination: `sip:${FAR_END.address}:${FAR_END.port}` }],
      mesh: { peers: [{ region: 'eu-west', ...EDGE_SIG }], homeRules: [{ prefix: '+1555', region: 'us-east' }] },
    });
    edge = await startEdge(linkEnd.port);
    farEnd = await startSipp({ scenario: 'uas-echo.xml', localAddress: FAR_END.address, localPort: FAR_END.port, mediaPort: 22000, rtpEcho: true, timeoutMs: 300_000 });
    await farEnd.ready;
    await clearKeys(edge.node);
    // The edge's recording link is up before the first call.
    await waitUntil(() => path.link.activeConnections > 0, 5000, 'recording link up');
  });

  afterAll(async () => {
    if (edge !== undefined) await clearKeys(edge.node).catch(() => undefined);
    await farEnd?.stop(500);
    await edge?.close();
    await home?.close();
    await central?.close();
    await path?.close();
    console.log('recording link cut, measured:', JSON.stringify(measured));
  });

  /** A number owned by an account (what the edge looks the account up by). */
  async function ownNumber(e164: string, accountSid: string): Promise<void> {
    const k = keys(PREFIX);
    const numberSid = `PN${createHash('md5').update(e164).digest('hex')}`;
    await edge.node.redis.set(k.numberByE164(e164), numberSid);
    await edge.node.redis.set(k.number(numberSid), JSON.stringify({ sid: numberSid, accountSid, phoneNumber: e164, friendlyName: e164, homeRegion: 'us-east', dateCreated: '', dateUpdated: '' }));
  }

  /**
   * One recorded call of `holdMs`, the caller sending 20 ms PCMU packets for
   * as long as the edge holds the call; `at` runs actions at offsets (ms)
   * from the first packet.
   */
  async function recordedCall(dialed: string, holdMs: number, at: [number, () => void][]): Promise<{ sid: string; sentMs: number; packets: number; endedAt: number }> {
    const sipp = runSipp({
      scenario: 'uac-nomedia.xml',
      target: `${EDGE_SIG.address}:${EDGE_SIG.port}`,
      localAddress: CARRIER.address,
      localPort: CARRIER.port,
      mediaPort: 20000,
      service: dialed,
      calls: 1,
      callDurationMs: holdMs,
      timeoutMs: 60_000,
    });
    const node = edge.node;
    const call = await waitFor(() => [...node.b2bua.calls.values()].find((c) => c.state === 'answered' && c.sdp.toA !== undefined && c.to === dialed), 5000, 'answered call');
    const sdp = call.sdp.toA!;
    const address = /^c=IN IP4 (\S+)/m.exec(sdp)![1]!;
    const port = Number(/^m=audio (\d+)/m.exec(sdp)![1]);
    const sock = createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, CARRIER.address, () => r()));
    let seq = 0;
    let stoppedAt: number | undefined;
    const started = performance.now();
    const timers = at.map(([ms, fn]) => setTimeout(fn, ms));
    // Paced by the clock, not by the timer: a late tick sends what is due, so the audio lasts as long as the call
    // (a real source's RTP timestamps follow its sampling clock, RFC 3550 §5.1).
    const timer = setInterval(() => {
      while (seq * 20 <= performance.now() - started) {
        const p = Buffer.alloc(172, seq % 251);
        p[0] = 0x80;
        p[1] = 0; // PCMU
        p.writeUInt16BE(seq & 0xffff, 2);
        p.writeUInt32BE((seq * 160) >>> 0, 4);
        p.writeUInt32BE(0x1234abcd, 8);
        seq++;
        sock.send(p, port, address);
      }
      if (!node.b2bua.calls.has(call.sid)) {
        clearInterval(timer);
        stoppedAt ??= performance.now();
      }
    }, 10);
    const res = await sipp;
    clearInterval(timer);
    // How long the caller's media flowed: from the first packet until the edge ended the call.
    const sentMs = (stoppedAt ?? performance.now()) - started;
    const endedAt = Date.now();
    sock.close();
    for (const t of timers) clearTimeout(t);
    expect(res.successfulCalls, res.errorsTail).toBe(1);
    return { sid: call.sid, sentMs, packets: seq, endedAt };
  }

  function liveCopy(sid: string): BranchMetadata {
    return JSON.parse(readFileSync(join(dataDir, sid, 'caller.live.json'), 'utf8')) as BranchMetadata;
  }

  function localWav(sid: string): Buffer {
    return readFileSync(join(edge.config.runDir, 'media-store', EDGE_NODE_ID, sid, 'caller.live.wav'));
  }

  async function branchUsage(accountSid: string): Promise<number> {
    const v = await edge.node.redis.hget(keys(PREFIX).usage(accountSid), usageField({ category: 'media-branches', region: 'eu-west', at: Date.now() }));
    return Number(v ?? 0);
  }

  /** The central service's recording of a call: the upload, byte-identical to the edge's copy, as long as the call. */
  async function expectCompleteRecording(label: string, sid: string, sentMs: number, holdMs: number): Promise<BranchMetadata> {
    const rec = await central.service.recording(sid, 'caller');
    expect(rec).toMatchObject({ source: 'upload', confirmed: true });
    const wav = readFileSync(rec!.wav);
    expect(sha(wav)).toBe(rec!.metadata.sha256);
    expect(sha(wav)).toBe(sha(localWav(sid)));
    measured[`${label}DurationErrPct`] = Math.round((1000 * Math.abs(rec!.metadata.duration - sentMs / 1000)) / (sentMs / 1000)) / 10;
    expect(Math.abs(rec!.metadata.duration - sentMs / 1000) / (sentMs / 1000)).toBeLessThan(0.05);
    expect(Math.abs(rec!.metadata.duration - holdMs / 1000) / (holdMs / 1000)).toBeLessThan(0.05);
    return rec!.metadata;
  }

  it('without a cut: the upload is confirmed and becomes the recording; the live copy is whole', async () => {
    await ownNumber('+15551230000', 'AC00000000000000000000000000000000');
    const holdMs = 5000;
    const call = await recordedCall('+15551230000', holdMs, []);
    const delivered = await edge.node.recorder!.whenDelivered(call.sid, 'caller', 15_000);
    measured.noCutEndToDeliveredMs = delivered.at - call.endedAt;
    const upload = await expectCompleteRecording('noCut', call.sid, call.sentMs, holdMs);
    const live = liveCopy(call.sid);
    expect(live.packets).toBeGreaterThan(0.95 * call.packets);
    expect(upload.matchesLive).toBe(live.sha256 === upload.sha256 ? true : undefined);
    measured.noCutLiveMatchesUpload = live.sha256 === upload.sha256 ? 1 : 0;
    expect(await branchUsage('AC00000000000000000000000000000000')).toBe(1);
  });

  it('a cut healed during the call: the gap in the live copy is filled by the upload after the call', async () => {
    const account = 'AC11111111111111111111111111111111';
    await ownNumber('+15551230001', account);
    const holdMs = 8000;
    let restoredAt = 0;
    const call = await recordedCall('+15551230001', holdMs, [
      [2000, () => path.setBlocked(true)],
      [
        5000,
        () => {
          path.setBlocked(false);
          restoredAt = Date.now();
        },
      ],
    ]);
    expect(restoredAt).toBeGreaterThan(0);
    const delivered = await edge.node.recorder!.whenDelivered(call.sid, 'caller', 30_000);
    measured.healedMidCallRestoreToDeliveredMs = delivered.at - restoredAt;
    measured.healedMidCallEndToDeliveredMs = delivered.at - call.endedAt;
    const upload = await expectCompleteRecording('healedMidCall', call.sid, call.sentMs, holdMs);
    // The live copy missed the cut (about 3 s of 8 s), so it is not the recording.
    const live = liveCopy(call.sid);
    expect(live.packets).toBeLessThan(0.8 * call.packets);
    expect(live.sha256).not.toBe(upload.sha256);
    expect(upload.matchesLive).toBeUndefined();
    expect(await branchUsage(account)).toBe(1);
  });

  it('a cut lasting past the call end and an edge restart: the local copy is delivered when the link returns', async () => {
    const account = 'AC22222222222222222222222222222222';
    await ownNumber('+15551230002', account);
    const holdMs = 5000;
    const call = await recordedCall('+15551230002', holdMs, [[1500, () => path.setBlocked(true)]]);
    // The call is over and the link still down: the copy waits in the manifest, failing to upload.
    const manifestPath = join(edge.config.runDir, 'media-store', EDGE_NODE_ID, 'upload-manifest.json');
    await waitUntil(async () => (await loadManifest(manifestPath)).some((e) => e.callSid === call.sid && e.attempts >= 2), 10_000, 'failed upload attempts');
    expect(await central.service.recording(call.sid, 'caller')).toBeUndefined();
    // The edge process restarts meanwhile; the new one picks the queue up from disk.
    await edge.restart();
    const queued = (await edge.node.recorder!.localStore())!.uploader.list();
    expect(queued).toMatchObject([{ callSid: call.sid, branchId: 'caller', state: 'pending', accountSid: account }]);
    await sleep(2000);
    expect(existsSync(join(dataDir, call.sid, 'caller.upload.json'))).toBe(false);
    const downMs = Date.now() - call.endedAt;

    path.setBlocked(false);
    const restoredAt = Date.now();
    const [reconnectMs, delivered] = await Promise.all([
      waitUntil(() => path.link.activeConnections > 0, 10_000, 'recording link back', 5),
      edge.node.recorder!.whenDelivered(call.sid, 'caller', 30_000),
    ]);
    measured.afterCallRestoreToLinkUpMs = reconnectMs;
    measured.afterCallRestoreToDeliveredMs = delivered.at - restoredAt;
    measured.afterCallLinkDownAfterEndMs = downMs;
    const upload = await expectCompleteRecording('afterCall', call.sid, call.sentMs, holdMs);
    // The live copy was still open (its COMPLETED never got through); the upload finished it.
    const live = liveCopy(call.sid);
    expect(live.packets).toBeLessThan(0.5 * call.packets);
    expect(live.sha256).not.toBe(upload.sha256);
    expect(central.service.openBranches).toBe(0);
    expect(await branchUsage(account)).toBe(1);
    expect((await edge.node.recorder!.localStore())!.uploader.list()).toEqual([]);
  });
});
