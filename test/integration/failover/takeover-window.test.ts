/**
 * Issue 12, "failover without loss": a caller's BYE that reaches the standby
 * in the moment between binding the node's SIP address and loading the
 * calls from Redis must not be answered 481. Before the fix the standby's
 * B2BUA was already answering requests while it read the records, so a BYE
 * (or its retransmission) landing there got 481; the caller gave up, the
 * adopted call was never ended and the standby held it until it stopped —
 * the failover benchmark's "lost" re-anchored calls, whose BYEs fall in the
 * takeover window by the benchmark's timing. Here the test itself sends a
 * fresh BYE every millisecond from the kill on, so the first one the standby
 * reads arrives at once after its bind: its answer must be 200.
 *
 * Real processes: an active and a standby node-main.ts under tsx, two
 * rtpengines, Redis, a SIPp callee; the caller is raw UDP owned by the test.
 */
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoredCall } from '../../../signaling/b2bua/call-store.js';
import { buildRequest, sdpOffer, statusCodeOf } from '../../support/raw-sip.js';
import { startSipp, type SippInstance } from '../../support/sipp.js';
import { TEST_REDIS_URL } from '../global-setup.js';
import {
  CALLEE, CARRIER, failoverConfig, SIG, spawnNodeProcess, startMediaPair, waitFor, writeConfigFile,
  type MediaPair, type NodeProcess,
} from './harness.js';

const LEASE_TTL_MS = 1000;
/** The raw caller: the carrier's address, a port SIPp does not use in this file. */
const CALLER = { address: CARRIER.address, port: 5079 };

describe('failover: a BYE that reaches the standby while it takes over', () => {
  const logDir = mkdtempSync(join(tmpdir(), 'mesh-failover-window-'));
  const prefix = `it-fo-win-${Date.now()}:`;
  const config = failoverConfig(prefix, logDir);
  let media: MediaPair;
  let redis: Redis;
  let uas: SippInstance | undefined;
  let sock: Socket;
  const procs: NodeProcess[] = [];
  /** Every datagram the caller socket got, in order. */
  const got: Buffer[] = [];

  beforeAll(async () => {
    media = await startMediaPair(logDir);
    redis = new Redis(TEST_REDIS_URL, { lazyConnect: false, commandTimeout: 2000 });
    sock = createSocket('udp4');
    sock.on('message', (m) => {
      if (got.length < 10_000) got.push(m);
    });
    // ICMP port unreachable while nobody is bound to the node's address: expected, not an error.
    sock.on('error', () => undefined);
    await new Promise<void>((r) => sock.bind(CALLER.port, CALLER.address, () => r()));
  });
  afterAll(async () => {
    sock?.close();
    await uas?.stop(1000).catch(() => undefined);
    for (const p of procs) {
      p.kill('SIGTERM');
      await Promise.race([p.exited, new Promise((r) => setTimeout(r, 4000))]);
      p.kill('SIGKILL');
    }
    redis?.disconnect();
    await media?.close();
  });

  const send = (bytes: Buffer): void => sock.send(bytes, SIG.port, SIG.address);
  const responses = (method: string): { status: number; cseq: number; text: string }[] =>
    got.flatMap((m) => {
      const status = statusCodeOf(m);
      const text = m.toString('utf8');
      const cseq = new RegExp(`^CSeq:\\s*(\\d+)\\s+${method}\\s*$`, 'mi').exec(text);
      return status === undefined || cseq === null ? [] : [{ status, cseq: Number(cseq[1]), text }];
    });

  it('is held until the calls are adopted and answered 200, and the callee gets its BYE', async () => {
    const configFile = writeConfigFile(config, logDir);
    const args = ['--lease-ttl-ms', String(LEASE_TTL_MS)];
    const active = spawnNodeProcess(configFile, args, join(logDir, 'active.log'));
    procs.push(active);
    await active.waitFor('READY', 30_000);
    const standby = spawnNodeProcess(configFile, [...args, '--standby'], join(logDir, 'standby.log'));
    procs.push(standby);
    await standby.waitFor('STANDBY', 30_000);
    uas = await startSipp({ scenario: 'uas-reinvite.xml', localAddress: CALLEE.address, localPort: CALLEE.port, mediaPort: 22000, rtpEcho: true, timeoutMs: 60_000 });
    await uas.ready;

    // One answered call from the raw caller.
    const callId = `win-${Date.now()}@test`;
    const fromTag = 'caller-tag-1';
    const invite = buildRequest({
      method: 'INVITE', user: '+15551234567', to: SIG, from: CALLER, callId, fromTag, cseq: 1,
      branch: `z9hG4bK-inv-${Date.now()}`, body: sdpOffer(CALLER.address, 20_000),
    });
    send(invite);
    await waitFor(() => responses('INVITE').some((r) => r.status === 200), 10_000);
    const ok = responses('INVITE').find((r) => r.status === 200)!;
    const toHeader = /^To:\s*(.*)$/im.exec(ok.text)![1]!.trim();
    const ack = (cseq: number): Buffer => Buffer.from([
      `ACK sip:+15551234567@${SIG.address}:${SIG.port} SIP/2.0`,
      `Via: SIP/2.0/UDP ${CALLER.address}:${CALLER.port};branch=z9hG4bK-ack-${Date.now()}`,
      'Max-Forwards: 70',
      `From: <sip:raw@${CALLER.address}:${CALLER.port}>;tag=${fromTag}`,
      `To: ${toHeader}`,
      `Call-ID: ${callId}`,
      `CSeq: ${cseq} ACK`,
      'Content-Length: 0',
      '', '',
    ].join('\r\n'));
    send(ack(1));
    const live = async (): Promise<StoredCall[]> => {
      const sids = await redis.smembers(`${prefix}node:fo-sig-1:calls`);
      const values = sids.length === 0 ? [] : await redis.mget(...sids.map((s) => `${prefix}call:${s}`));
      return values.filter((v): v is string => v !== null).map((v) => JSON.parse(v) as StoredCall);
    };
    await waitFor(async () => (await live()).some((c) => c.aCallId === callId && c.state === 'answered' && c.bDialog !== undefined), 10_000);
    const sid = (await live()).find((c) => c.aCallId === callId)!.callSid;

    // Kill the active; from then on a new BYE transaction every millisecond (rising CSeq, RFC 3261 §12.2.1.1).
    active.kill('SIGKILL');
    const bye = (cseq: number): Buffer => Buffer.from([
      `BYE sip:+15551234567@${SIG.address}:${SIG.port} SIP/2.0`,
      `Via: SIP/2.0/UDP ${CALLER.address}:${CALLER.port};branch=z9hG4bK-bye-${cseq}-${Date.now()}`,
      'Max-Forwards: 70',
      `From: <sip:raw@${CALLER.address}:${CALLER.port}>;tag=${fromTag}`,
      `To: ${toHeader}`,
      `Call-ID: ${callId}`,
      `CSeq: ${cseq} BYE`,
      'Content-Length: 0',
      '', '',
    ].join('\r\n'));
    let cseq = 2;
    const started = Date.now();
    while (responses('BYE').length === 0 && Date.now() - started < 15_000) {
      send(bye(cseq++));
      await new Promise((r) => setTimeout(r, 1));
    }
    await standby.waitFor('READY', 15_000);
    const byes = responses('BYE').sort((x, y) => x.cseq - y.cseq);
    expect(byes.length).toBeGreaterThan(0);
    // The BYE the standby read first (lowest CSeq answered) ended the call: 200, not 481.
    expect(byes[0]!.status, `answers to the BYEs: ${byes.slice(0, 10).map((b) => `${b.cseq}→${b.status}`).join(', ')}`).toBe(200);
    expect(byes.filter((b) => b.status !== 200)).toEqual([]);
    const report = JSON.parse(/^TAKEOVER (.*)$/m.exec(standby.output())![1]!) as { adopted: number };
    expect(report.adopted).toBe(1);
    // The call ended at the standby: the caller's BYE, nothing live left, and the callee got a BYE.
    await waitFor(async () => (await live()).length === 0, 5000);
    const rec = JSON.parse((await redis.get(`${prefix}call:${sid}`))!) as StoredCall;
    expect(rec.endReason).toBe('bye-from-a');
    const uasRes = await uas.stop(2000);
    uas = undefined;
    expect(uasRes.successfulCalls, uasRes.errorsTail).toBe(1);
  });
});
