import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRtpengine } from '../../../infra/rtpengine.js';
import type { ManagedProcess } from '../../../infra/process.js';
import { RtpengineMediaEngine } from '../../../media/engine/index.js';
import { bencodeEncode } from '../../../media/ng/bencode.js';
import { NgClient } from '../../../media/ng/client.js';
import { MeshError } from '../../../regions/core/errors.js';
import { LOG_DIR, audioSdp, rtpPeer, sdpMediaTarget, sendRtp, waitFor, type RtpPeer } from './helpers.js';

/**
 * A whole call through a real rtpengine: offer/answer rewrite the SDP to the
 * node's address, RTP sent by both phones to the rewritten addresses reaches
 * the other phone, and `query` counts it per leg.
 */
describe('NgClient against real rtpengine', () => {
  let nodes: ManagedProcess[] = [];
  let clients: NgClient[] = [];

  beforeAll(async () => {
    nodes = await Promise.all([
      startRtpengine({ id: 'it-call-1', interfaceAddress: '127.0.8.11', ngPort: 2223, portMin: 46000, portMax: 46999, logFile: join(LOG_DIR, 'call-1.log'), logLevel: 6 /* info: the duplicate-cookie test reads rtpengine's log */ }),
      startRtpengine({ id: 'it-call-2', interfaceAddress: '127.0.8.12', ngPort: 2223, portMin: 47000, portMax: 47999, logFile: join(LOG_DIR, 'call-2.log') }),
    ]);
    clients = [new NgClient({ address: '127.0.8.11', port: 2223 }), new NgClient({ address: '127.0.8.12', port: 2223 })];
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await Promise.all(nodes.map((n) => n.stop()));
  });

  it('answers ping on both nodes', async () => {
    await Promise.all(clients.map((c) => c.ping()));
    expect(nodes.every((n) => n.isRunning())).toBe(true);
  });

  for (const [idx, nodeIp, lo, hi] of [[0, '127.0.8.11', 46000, 46999], [1, '127.0.8.12', 47000, 47999]] as const) {
    it(`relays RTP in both directions and counts it per leg (node ${nodeIp})`, async () => {
      const client = clients[idx] as NgClient;
      const callId = `it-call-${idx}-${Date.now()}`;
      const caller: RtpPeer = await rtpPeer('127.0.8.50');
      const callee: RtpPeer = await rtpPeer('127.0.8.51');
      try {
        const offer = await client.offer({ callId, fromTag: 'caller-tag', sdp: audioSdp(caller.address, caller.port),
          replace: ['origin', 'session-connection'], ice: 'remove' });
        const towardCallee = sdpMediaTarget(offer.sdp);
        expect(towardCallee.address).toBe(nodeIp);
        expect(towardCallee.port).toBeGreaterThanOrEqual(lo);
        expect(towardCallee.port).toBeLessThanOrEqual(hi);
        expect(offer.sdp).toMatch(new RegExp(`^o=- 1 1 IN IP4 ${nodeIp.replace(/\./g, '\\.')}`, 'm'));
        expect(offer.sdp).not.toContain('127.0.8.50');

        const answer = await client.answer({ callId, fromTag: 'caller-tag', toTag: 'callee-tag',
          sdp: audioSdp(callee.address, callee.port, 2), replace: ['origin', 'session-connection'], ice: 'remove' });
        const towardCaller = sdpMediaTarget(answer.sdp);
        expect(towardCaller.address).toBe(nodeIp);
        expect(answer.sdp).not.toContain('127.0.8.51');

        expect(await client.list(100)).toContain(callId);

        await sendRtp(caller, towardCaller, 10, 0x1111);
        await sendRtp(callee, towardCallee, 8, 0x2222);
        expect(await waitFor(() => caller.received.length >= 8 && callee.received.length >= 10, 2000)).toBe(true);
        // What arrives is the other phone's RTP (same SSRC), sent from the node's address.
        expect(callee.received[0]?.readUInt32BE(8)).toBe(0x1111);
        expect(caller.received[0]?.readUInt32BE(8)).toBe(0x2222);

        const q = await client.query(callId);
        expect(q.callId).toBe(callId);
        expect(q.tags['caller-tag']?.rtp.in.packets).toBe(10);
        expect(q.tags['caller-tag']?.rtp.in.bytes).toBe(10 * 172);
        expect(q.tags['callee-tag']?.rtp.in.packets).toBe(8);
        expect(q.tags['caller-tag']?.inDialogueWith).toBe('callee-tag');
        expect(q.tags['caller-tag']?.medias[0]?.streams[0]?.endpoint).toMatchObject({ address: '127.0.8.50', port: caller.port });
        expect(q.totals?.rtp.packets).toBe(18);

        await client.delete({ callId });
        // delete-delay is 0 (startRtpengine's default): the call is gone from the list at once or shortly after.
        let listed = true;
        for (let i = 0; i < 40 && listed; i++) {
          listed = (await client.list(100)).includes(callId);
          if (listed) await new Promise((r) => setTimeout(r, 100));
        }
        expect(listed).toBe(false);
      } finally {
        await caller.close();
        await callee.close();
      }
    });
  }

  it('reports rtpengine errors as BAD_GATEWAY with the error reason', async () => {
    const client = clients[0] as NgClient;
    const e = await client.query('no-such-call').then(() => undefined, (err: unknown) => err);
    expect(e).toBeInstanceOf(MeshError);
    expect((e as MeshError).code).toBe('BAD_GATEWAY');
    expect(String((e as MeshError).detail?.errorReason)).toMatch(/not found|unknown/i);
    const answer = await client.answer({ callId: 'no-such-call', fromTag: 'a', toTag: 'b', sdp: audioSdp('127.0.8.51', 40000) })
      .then(() => undefined, (err: unknown) => err);
    expect((answer as MeshError).code).toBe('BAD_GATEWAY');
  });

  it('works through the MediaEngine seam with the B2BUA defaults', async () => {
    const engine = new RtpengineMediaEngine(clients[1] as NgClient);
    const callId = `it-engine-${Date.now()}`;
    const toCallee = await engine.offer(callId, 'from-1', audioSdp('127.0.8.50', 40100));
    expect(toCallee).toMatch(/^c=IN IP4 127\.0\.8\.12/m);
    expect(toCallee).not.toMatch(/a=candidate/);
    const toCaller = await engine.answer(callId, 'from-1', 'to-1', audioSdp('127.0.8.51', 40200));
    expect(toCaller).toMatch(/^o=- 1 1 IN IP4 127\.0\.8\.12/m);
    const q = await engine.query(callId);
    expect(Object.keys(q.tags).sort()).toEqual(['from-1', 'to-1']);
    await engine.delete(callId);
  });

  it('answers a resent cookie from its reply cache, which makes our same-cookie retransmits safe', async () => {
    // The client's retransmit design rests on this rtpengine behaviour, so
    // check it directly: the same datagram twice → one offer, two identical replies.
    const callId = `it-retx-${Date.now()}`;
    const packet = Buffer.concat([Buffer.from('retx-cookie-1 '), bencodeEncode({
      command: 'offer', 'call-id': callId, 'from-tag': 'f', sdp: audioSdp('127.0.8.50', 40300), ICE: 'remove',
    })]);
    const raw = dgram.createSocket('udp4');
    const replies: Buffer[] = [];
    raw.on('message', (m) => replies.push(m));
    await new Promise<void>((r) => raw.bind(0, '127.0.8.50', () => r()));
    try {
      raw.send(packet, 2223, '127.0.8.11');
      expect(await waitFor(() => replies.length === 1, 1000)).toBe(true);
      raw.send(packet, 2223, '127.0.8.11');
      expect(await waitFor(() => replies.length === 2, 1000)).toBe(true);
      expect(replies[1]?.equals(replies[0] as Buffer)).toBe(true);
      // The log reaches the file through a pipe: give it a moment.
      expect(await waitFor(() => /as a duplicate/.test(readFileSync(join(LOG_DIR, 'call-1.log'), 'utf8')), 1000)).toBe(true);
      const client = clients[0] as NgClient;
      expect(Object.keys((await client.query(callId)).tags)).toContain('f');
      await client.delete({ callId });
    } finally {
      await new Promise<void>((r) => raw.close(() => r()));
    }
  });
});
