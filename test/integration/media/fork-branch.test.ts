/**
 * forkBranch against a real rtpengine (127.0.11.5) relaying a call between
 * two raw UDP RTP parties: each party's media is forked — the caller's over
 * a 40 ms UdpDelayRelay region link — to a CentralMediaService, whose WAVs
 * last as long as the RTP sent (within 5 %) and hold the sent audio. A
 * second subscription of the same source coexists; stop() is idempotent,
 * also after the call is deleted.
 */
import dgram from 'node:dgram';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRtpengine } from '../../../infra/rtpengine.js';
import type { ManagedProcess } from '../../../infra/process.js';
import { decodeSample } from '../../../media/central/g711.js';
import { CentralMediaService } from '../../../media/central/service.js';
import { forkBranch } from '../../../media/fork/fork-branch.js';
import { RtpengineMediaEngine } from '../../../media/engine/index.js';
import { NgClient } from '../../../media/ng/client.js';
import { UdpDelayRelay } from '../../../regions/link/udp-delay-relay.js';
import { LOG_DIR, audioSdp, rtpPeer, sdpMediaTarget, waitFor, type RtpPeer } from './helpers.js';

const NODE = '127.0.11.5';
const NG_PORT = 2233;
const CENTRAL = '127.0.11.30';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Send `count` 20 ms PCMU packets paced in real time; payload byte of packet i is `fill(i)`. */
async function talk(from: RtpPeer, to: { address: string; port: number }, count: number, ssrc: number, fill: (i: number) => number): Promise<void> {
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    const p = Buffer.alloc(172, fill(i));
    p[0] = 0x80;
    p[1] = 0;
    p.writeUInt16BE((5000 + i) & 0xffff, 2);
    p.writeUInt32BE((777 + i * 160) >>> 0, 4);
    p.writeUInt32BE(ssrc, 8);
    from.socket.send(p, to.port, to.address);
    await sleep(Math.max(0, start + (i + 1) * 20 - performance.now()));
  }
}

describe('forkBranch (rtpengine subscribe request/answer) to the central media service', () => {
  let node: ManagedProcess;
  let ng: NgClient;
  let central: CentralMediaService;
  let dataDir: string;

  beforeAll(async () => {
    node = await startRtpengine({ id: 'it-fork', interfaceAddress: NODE, ngPort: NG_PORT, portMin: 53500, portMax: 53999, logFile: join(LOG_DIR, 'fork.log') });
    ng = new NgClient({ address: NODE, port: NG_PORT });
    dataDir = mkdtempSync(join(tmpdir(), 'fork-it-'));
    central = await CentralMediaService.start({ region: 'us-east', rtpAddress: CENTRAL, portMin: 54800, portMax: 54899, dataDir });
  });

  afterAll(async () => {
    await central?.close();
    await ng?.close();
    await node?.stop();
  });

  async function call(callId: string): Promise<{ caller: RtpPeer; callee: RtpPeer; toCaller: { address: string; port: number }; toCallee: { address: string; port: number } }> {
    const caller = await rtpPeer('127.0.11.51');
    const callee = await rtpPeer('127.0.11.52');
    const offer = await ng.offer({ callId, fromTag: 'caller-tag', sdp: audioSdp(caller.address, caller.port), replace: ['origin', 'session-connection'], ice: 'remove' });
    const answer = await ng.answer({ callId, fromTag: 'caller-tag', toTag: 'callee-tag', sdp: audioSdp(callee.address, callee.port, 2), replace: ['origin', 'session-connection'], ice: 'remove' });
    // toCaller: where the caller sends (rtpengine's caller-facing port), toCallee likewise.
    return { caller, callee, toCaller: sdpMediaTarget(answer.sdp), toCallee: sdpMediaTarget(offer.sdp) };
  }

  it('forks both parties; the recordings match the RTP sent within 5 % and carry its audio', async () => {
    const callId = `it-fork-${Date.now()}`;
    const { caller, callee, toCaller, toCallee } = await call(callId);
    try {
      const brCaller = await central.openBranch({ callSid: 'CAfork1', branchId: 'caller', codec: 'PCMU' });
      const brCallee = await central.openBranch({ callSid: 'CAfork1', branchId: 'callee', codec: 'PCMU' });
      const linked = new UdpDelayRelay({ listenHost: '127.0.11.53', targetHost: brCaller.address, targetPort: brCaller.port, delayMs: 40 });
      const ends = await linked.start();
      try {
        const fork = await forkBranch(new RtpengineMediaEngine(ng), { callId, fromTags: ['caller-tag', 'callee-tag'], targets: [ends.listen, brCallee] });
        expect(fork.streams.map((s) => s.fromTag)).toEqual(['caller-tag', 'callee-tag']);
        expect(fork.streams.every((s) => s.source.address === NODE && s.payloadType === 0)).toBe(true);
        // 3 s from the caller, 2 s from the callee, concurrently.
        await Promise.all([
          talk(caller, toCaller, 150, 0xca11, (i) => (i % 2 === 0 ? 0x90 : 0x10)),
          talk(callee, toCallee, 100, 0xca1e, () => 0xa0),
        ]);
        // The call itself still works.
        expect(await waitFor(() => callee.received.length >= 150 && caller.received.length >= 100, 2000)).toBe(true);
        await sleep(200); // the link's 40 ms plus margin
        await fork.stop();
        await fork.stop();
        const [mCaller, mCallee] = await Promise.all([central.closeBranch('CAfork1', 'caller'), central.closeBranch('CAfork1', 'callee')]);
        expect(mCaller.packets).toBe(150);
        expect(mCallee.packets).toBe(100);
        expect(Math.abs(mCaller.duration - 3) / 3).toBeLessThan(0.05);
        expect(Math.abs(mCallee.duration - 2) / 2).toBeLessThan(0.05);
        expect(mCaller.lost).toBe(0);
        const wav = readFileSync(join(dataDir, 'CAfork1', 'caller.live.wav'));
        expect(wav.readInt16LE(44 + 0 * 320 + 10)).toBe(decodeSample('PCMU', 0x90));
        expect(wav.readInt16LE(44 + 1 * 320 + 10)).toBe(decodeSample('PCMU', 0x10));
        expect(wav.readInt16LE(44 + 149 * 320 + 10)).toBe(decodeSample('PCMU', 0x10));
      } finally {
        await linked.close();
      }
    } finally {
      await ng.delete({ callId }).catch(() => undefined);
      await Promise.all([caller.close(), callee.close()]);
    }
  });

  it('lets two subscriptions of one source coexist, stops one without the other, and stop() after delete is fine', async () => {
    const callId = `it-fork2-${Date.now()}`;
    const { caller, callee, toCaller } = await call(callId);
    const a = dgram.createSocket('udp4');
    const b = dgram.createSocket('udp4');
    await Promise.all([new Promise<void>((r) => a.bind(0, '127.0.11.54', r)), new Promise<void>((r) => b.bind(0, '127.0.11.54', r))]);
    let gotA = 0;
    let gotB = 0;
    a.on('message', () => gotA++);
    b.on('message', () => gotB++);
    try {
      const f1 = await forkBranch(new RtpengineMediaEngine(ng), { callId, fromTags: ['caller-tag'], targets: [{ address: '127.0.11.54', port: a.address().port }] });
      const f2 = await forkBranch(new RtpengineMediaEngine(ng), { callId, fromTags: ['caller-tag'], targets: [{ address: '127.0.11.54', port: b.address().port }] });
      expect(f1.toTag).not.toBe(f2.toTag);
      await talk(caller, toCaller, 20, 1, () => 0xff);
      expect(await waitFor(() => gotA === 20 && gotB === 20, 1000)).toBe(true);
      await f1.stop();
      await talk(caller, toCaller, 10, 1, () => 0xff);
      await sleep(100);
      expect(gotA).toBe(20);
      expect(gotB).toBe(30);
      await ng.delete({ callId });
      await sleep(1500); // let the delete settle (startRtpengine runs with --delete-delay=0)
      await f2.stop();
    } finally {
      a.close();
      b.close();
      await ng.delete({ callId }).catch(() => undefined);
      await Promise.all([caller.close(), callee.close()]);
    }
  });

  it('fails with BAD_GATEWAY on an unknown call and with BAD_REQUEST on mismatched targets', async () => {
    await expect(forkBranch(new RtpengineMediaEngine(ng), { callId: 'no-such-call', fromTags: ['x'], targets: [{ address: CENTRAL, port: 54800 }] })).rejects.toMatchObject({ code: 'BAD_GATEWAY' });
    await expect(forkBranch(new RtpengineMediaEngine(ng), { callId: 'c', fromTags: ['x', 'y'], targets: [{ address: CENTRAL, port: 54800 }] })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
  });
});
