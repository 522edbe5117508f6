/**
 * Local media store + uploader with a real rtpengine (127.0.11.6): a call's
 * caller media is forked twice — to the home region's central media service
 * over a 40 ms UDP link, and to the edge's local store. The central service
 * is stopped and the link cut mid-call; after the call the local copy waits
 * in the persisted queue (surviving an uploader restart), and once the
 * central service is started again the upload completes with matching
 * checksums and a duration matching the RTP sent within 5 %.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRtpengine } from '../../../infra/rtpengine.js';
import type { ManagedProcess } from '../../../infra/process.js';
import { CentralMediaService, type CentralMediaServiceOptions } from '../../../media/central/service.js';
import { parseWav } from '../../../media/central/wav.js';
import { forkBranch } from '../../../media/fork/fork-branch.js';
import { RtpengineMediaEngine } from '../../../media/engine/index.js';
import { NgClient } from '../../../media/ng/client.js';
import { LocalMediaStore } from '../../../media/store/local-store.js';
import { BranchUploader } from '../../../media/store/uploader.js';
import { UdpDelayRelay } from '../../../regions/link/udp-delay-relay.js';
import { LOG_DIR, audioSdp, rtpPeer, sdpMediaTarget } from './helpers.js';

const NODE = '127.0.11.6';
const NG_PORT = 2234;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('local media store: stored during the call, uploaded after it, across a central outage', () => {
  let node: ManagedProcess;
  let ng: NgClient;
  const cleanups: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    node = await startRtpengine({ id: 'it-store', interfaceAddress: NODE, ngPort: NG_PORT, portMin: 54000, portMax: 54499, logFile: join(LOG_DIR, 'store.log') });
    ng = new NgClient({ address: NODE, port: NG_PORT });
  });

  afterAll(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
    await ng?.close();
    await node?.stop();
  });

  it('delivers the local copy once the central service is back; checksums match', async () => {
    const centralOpts: CentralMediaServiceOptions = {
      region: 'us-east', rtpAddress: '127.0.11.30', portMin: 54900, portMax: 54949, httpPort: 54990, dataDir: mkdtempSync(join(tmpdir(), 'central-store-it-')),
    };
    let central = await CentralMediaService.start(centralOpts);
    cleanups.push(() => central.close());
    const storeDir = mkdtempSync(join(tmpdir(), 'edge-store-it-'));
    const storeOpts = { region: 'eu-west', rtpAddress: '127.0.11.40', portMin: 54700, portMax: 54799, dir: storeDir, centralUrl: central.url, upload: { backoff: { initialMs: 100, maxMs: 400, jitter: 0 }, requestTimeoutMs: 2000 } };
    let store = await LocalMediaStore.start(storeOpts);
    cleanups.push(() => store.close());

    const callId = `it-store-${Date.now()}`;
    const caller = await rtpPeer('127.0.11.61');
    const callee = await rtpPeer('127.0.11.62');
    cleanups.push(async () => {
      await Promise.all([caller.close(), callee.close()]);
    });
    const offer = await ng.offer({ callId, fromTag: 'caller-tag', sdp: audioSdp(caller.address, caller.port), replace: ['origin', 'session-connection'], ice: 'remove' });
    const answer = await ng.answer({ callId, fromTag: 'caller-tag', toTag: 'callee-tag', sdp: audioSdp(callee.address, callee.port, 2), replace: ['origin', 'session-connection'], ice: 'remove' });
    expect(sdpMediaTarget(offer.sdp).address).toBe(NODE);
    const toCaller = sdpMediaTarget(answer.sdp);

    // Branch tunnel to the home region (over the link) and the local copy (two subscriptions of one source).
    const atCentral = await central.openBranch({ callSid: 'CAstore', branchId: 'caller', codec: 'PCMU' });
    const link = new UdpDelayRelay({ listenHost: '127.0.11.63', targetHost: atCentral.address, targetPort: atCentral.port, delayMs: 40 });
    cleanups.push(() => link.close());
    const linkEnds = await link.start();
    const atLocal = await store.openBranch({ callSid: 'CAstore', branchId: 'caller', codec: 'PCMU' });
    const toHome = await forkBranch(new RtpengineMediaEngine(ng), { callId, fromTags: ['caller-tag'], targets: [linkEnds.listen] });
    const toLocal = await forkBranch(new RtpengineMediaEngine(ng), { callId, fromTags: ['caller-tag'], targets: [atLocal] });

    // 4 s of caller audio; after 1.5 s the link is cut and the central service goes down.
    const packets = 200;
    const start = performance.now();
    for (let i = 0; i < packets; i++) {
      if (i === 75) {
        link.setBlocked(true);
        await central.close();
      }
      const p = Buffer.alloc(172, i % 256);
      p[0] = 0x80;
      p[1] = 0;
      p.writeUInt16BE(i, 2);
      p.writeUInt32BE(i * 160, 4);
      p.writeUInt32BE(0x5707e, 8);
      caller.socket.send(p, toCaller.port, toCaller.address);
      await sleep(Math.max(0, start + (i + 1) * 20 - performance.now()));
    }
    await sleep(100);
    await Promise.all([toHome.stop(), toLocal.stop()]);
    await ng.delete({ callId });

    // The central live copy stopped at the outage; the local one is complete.
    const liveCentral = JSON.parse(readFileSync(join(centralOpts.dataDir, 'CAstore', 'caller.live.json'), 'utf8'));
    expect(liveCentral.packets).toBeLessThan(80);
    const local = await store.finishBranch('CAstore', 'caller');
    expect(local.packets).toBe(packets);
    expect(Math.abs(local.duration - 4) / 4).toBeLessThan(0.05);
    const localWav = readFileSync(join(storeDir, 'CAstore', 'caller.live.wav'));
    expect(createHash('sha256').update(localWav).digest('hex')).toBe(local.sha256);

    // Central is down: attempts fail and the entry stays queued on disk.
    await sleep(600);
    expect(store.uploader.attempts).toBeGreaterThanOrEqual(2);
    expect(store.uploader.list()).toMatchObject([{ callSid: 'CAstore', branchId: 'caller', state: 'pending' }]);
    // The edge restarts its store: the manifest carries the queue over.
    await store.close();
    store = await LocalMediaStore.start(storeOpts);
    expect(store.uploader.list()).toHaveLength(1);

    // Central comes back on the same address; the upload completes.
    central = await CentralMediaService.start(centralOpts);
    link.setBlocked(false);
    const outcome = await Promise.race([store.uploader.whenSettled('CAstore', 'caller'), sleep(10_000).then(() => 'timeout' as const)]);
    expect(outcome).toMatchObject({ delivered: true, sha256: local.sha256 });
    const uploadedMeta = JSON.parse(readFileSync(join(centralOpts.dataDir, 'CAstore', 'caller.upload.json'), 'utf8'));
    const uploadedWav = readFileSync(join(centralOpts.dataDir, 'CAstore', 'caller.upload.wav'));
    expect(uploadedMeta).toMatchObject({ sha256: local.sha256, packets, lost: 0, source: 'upload', region: 'us-east', start: local.start });
    expect(uploadedWav.equals(localWav)).toBe(true);
    expect(Math.abs(parseWav(uploadedWav).durationSec - 4) / 4).toBeLessThan(0.05);
    expect(store.uploader.list()).toEqual([]);
    expect(JSON.parse(readFileSync(join(storeDir, 'upload-manifest.json'), 'utf8')).entries).toEqual([]);
    expect(existsSync(join(storeDir, 'CAstore', 'caller.live.wav'))).toBe(true);
  });

  it('an uploader started with nothing queued stays idle', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'edge-store-idle-'));
    const u = await BranchUploader.start({ centralUrl: 'http://127.0.11.30:1', manifestPath: join(dir, 'm.json') });
    await sleep(50);
    expect(u.attempts).toBe(0);
    await u.close();
  });
});
