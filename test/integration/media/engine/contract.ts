/**
 * The MediaEngine contract (media/engine/types.ts): what every media node
 * implementation must do, checked by its real effects on the node — the
 * SDP it hands back, what `query` shows, the RTP that arrives where it
 * should. `rtpengine.test.ts` runs it against a real rtpengine; another
 * engine would call `describeMediaEngineContract` with its own set-up.
 */
import { execFileSync } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseWav } from '../../../../media/central/wav.js';
import type { MediaEngine } from '../../../../media/engine/types.js';
import { forkBranch } from '../../../../media/fork/fork-branch.js';
import { startLegRecording } from '../../../../media/leg/leg-recording.js';
import { isMeshError } from '../../../../regions/core/errors.js';
import { audioSdp, rtpPeer, sdpMediaTarget, sendRtp, waitFor, type RtpPeer } from '../helpers.js';

export interface MediaEngineUnderTest {
  engine: MediaEngine;
  /** The node's media address (what its SDP must name) and RTP port range. */
  node: { address: string; portMin: number; portMax: number };
  /** Where the test's phones and fork receivers bind. */
  partyAddress: string;
  /** An engine of the same kind pointed at a control port nothing answers on, and its command timeout. */
  dead: { engine: MediaEngine; timeoutMs: number };
  /** How long the node may keep a deleted call before it is gone. */
  deleteDelayMs: number;
  close(): Promise<void>;
}

/** Code of a rejected promise's MeshError (or 'resolved' / 'not a MeshError'). */
async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'resolved';
  } catch (e) {
    return isMeshError(e) ? e.code : `not a MeshError: ${String(e)}`;
  }
}

async function pollUntil(cond: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await cond()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return cond();
}

export function describeMediaEngineContract(name: string, open: () => Promise<MediaEngineUnderTest>): void {
  describe(`MediaEngine contract: ${name}`, () => {
    let t: MediaEngineUnderTest;
    let caller: RtpPeer;
    let callee: RtpPeer;
    let seq = 0;
    const workDir = mkdtempSync(join(tmpdir(), 'media-engine-contract-'));
    const wav1s = join(workDir, 'tone-1s.wav');

    beforeAll(async () => {
      t = await open();
      caller = await rtpPeer(t.partyAddress);
      callee = await rtpPeer(t.partyAddress);
      execFileSync('sox', ['-n', '-r', '8000', '-c', '1', '-b', '16', wav1s, 'synth', '1', 'sine', '440']);
    });

    afterAll(async () => {
      await Promise.all([caller?.close(), callee?.close()]);
      await t?.close();
    });

    /** A fresh two-party call on the node: caller offered, callee answered. */
    async function call(): Promise<{ callId: string; towardCallee: { address: string; port: number }; towardCaller: { address: string; port: number } }> {
      const callId = `contract-${process.pid}-${++seq}`;
      const offer = await t.engine.offer(callId, 'caller-tag', audioSdp(caller.address, caller.port));
      const answer = await t.engine.answer(callId, 'caller-tag', 'callee-tag', audioSdp(callee.address, callee.port, 2));
      return { callId, towardCallee: sdpMediaTarget(offer), towardCaller: sdpMediaTarget(answer) };
    }

    const inRange = (port: number): boolean => port >= t.node.portMin && port <= t.node.portMax;

    it('allocate and answer: both SDPs are rewritten to the node, and query shows the session with both tags', async () => {
      const { callId, towardCallee, towardCaller } = await call();
      try {
        expect(towardCallee.address).toBe(t.node.address);
        expect(towardCaller.address).toBe(t.node.address);
        expect(inRange(towardCallee.port) && inRange(towardCaller.port)).toBe(true);
        const q = await t.engine.query(callId);
        expect(q.callId).toBe(callId);
        expect(Object.keys(q.tags).sort()).toEqual(['callee-tag', 'caller-tag']);
        expect(q.tags['caller-tag']?.inDialogueWith).toBe('callee-tag');
      } finally {
        await t.engine.delete(callId);
      }
    });

    it('delete removes the session (query then fails), and deleting an unknown call is not an error', async () => {
      const { callId } = await call();
      await t.engine.delete(callId);
      // A node may keep a deleted call a moment for late packets (rtpengine: --delete-delay; 0 as infra/rtpengine.ts starts it).
      let code = '';
      const gone = await pollUntil(async () => (code = await codeOf(t.engine.query(callId))) !== 'resolved', t.deleteDelayMs + 2000);
      expect(gone).toBe(true);
      expect(code).toBe('BAD_GATEWAY');
      await expect(t.engine.delete(callId)).resolves.toBeUndefined();
      await expect(t.engine.delete(`never-${callId}`)).resolves.toBeUndefined();
    });

    it('play sends the file as RTP to the party and reports its length; stopPlay ends it', async () => {
      const { callId } = await call();
      try {
        caller.received.length = 0;
        callee.received.length = 0;
        const durationMs = await t.engine.play(callId, 'caller-tag', wav1s);
        expect(durationMs).toBeGreaterThanOrEqual(950);
        expect(durationMs).toBeLessThanOrEqual(1050);
        expect(await waitFor(() => caller.received.length >= 10, 2000)).toBe(true);
        await t.engine.stopPlay(callId, 'caller-tag');
        await new Promise((r) => setTimeout(r, 100));
        const atStop = caller.received.length;
        await new Promise((r) => setTimeout(r, 400));
        // Stopped well before the file's end, and played to the caller only.
        expect(caller.received.length).toBe(atStop);
        expect(callee.received.length).toBe(0);
        expect(await codeOf(t.engine.play(`never-${callId}`, 'caller-tag', wav1s))).toBe('BAD_GATEWAY');
      } finally {
        await t.engine.delete(callId);
      }
    });

    it('fork: a subscription offers one sendonly stream from the node, delivers the source RTP to its target, and stops on unsubscribe', async () => {
      const { callId, towardCaller } = await call();
      const target = dgram.createSocket('udp4');
      const got: Buffer[] = [];
      target.on('message', (m) => got.push(m));
      await new Promise<void>((r) => target.bind(0, t.partyAddress, () => r()));
      try {
        const sub = await t.engine.subscribe(callId, ['caller-tag']);
        expect(sub.toTag.length).toBeGreaterThan(0);
        expect(sub.sdp).toMatch(/a=sendonly/);
        expect(sdpMediaTarget(sub.sdp).address).toBe(t.node.address);
        await t.engine.unsubscribe(callId, sub.toTag);

        const fork = await forkBranch(t.engine, { callId, fromTags: ['caller-tag'], targets: [{ address: t.partyAddress, port: target.address().port }] });
        await sendRtp(caller, towardCaller, 10, 0x1111);
        expect(await waitFor(() => got.length >= 10, 2000)).toBe(true);
        expect(got[0]?.readUInt32BE(8)).toBe(0x1111);
        await fork.stop();
        const before = got.length;
        await sendRtp(caller, towardCaller, 10, 0x1111);
        await new Promise((r) => setTimeout(r, 200));
        expect(got.length).toBe(before);
        expect(await codeOf(t.engine.subscribe(`never-${callId}`, ['caller-tag']))).toBe('BAD_GATEWAY');
      } finally {
        target.close();
        await t.engine.delete(callId);
      }
    });

    it('record: a fork of the party into a WAV as long as the audio it sent', async () => {
      const { callId, towardCaller } = await call();
      const socket = dgram.createSocket('udp4');
      await new Promise<void>((r) => socket.bind(0, t.partyAddress, () => r()));
      try {
        const rec = await startLegRecording({ engine: t.engine, callId, partyTag: 'caller-tag', recordingsDir: workDir, socket });
        await sendRtp(caller, towardCaller, 25, 0x1111); // 25 × 20 ms of PCMU
        await new Promise((r) => setTimeout(r, 200));
        const result = await rec.stop();
        expect(result.durationMs).toBeGreaterThanOrEqual(400);
        expect(result.durationMs).toBeLessThanOrEqual(600);
        const wav = parseWav(readFileSync(result.path));
        expect(Math.abs(wav.durationSec * 1000 - result.durationMs)).toBeLessThan(1);
      } finally {
        await t.engine.delete(callId);
      }
    });

    it("a node that does not answer fails every command with the catalogue's UPSTREAM_TIMEOUT within the timeout", async () => {
      const { engine, timeoutMs } = t.dead;
      const started = Date.now();
      const codes = await Promise.all([
        codeOf(engine.offer('dead-call', 'caller-tag', audioSdp(caller.address, caller.port))),
        codeOf(engine.query('dead-call')),
        codeOf(engine.delete('dead-call')),
        codeOf(engine.play('dead-call', 'caller-tag', wav1s)),
        codeOf(engine.subscribe('dead-call', ['caller-tag'])),
      ]);
      const elapsed = Date.now() - started;
      expect(codes).toEqual(['UPSTREAM_TIMEOUT', 'UPSTREAM_TIMEOUT', 'UPSTREAM_TIMEOUT', 'UPSTREAM_TIMEOUT', 'UPSTREAM_TIMEOUT']);
      expect(elapsed).toBeGreaterThanOrEqual(timeoutMs - 5);
      expect(elapsed).toBeLessThan(timeoutMs + 500);
    });
  });
}
