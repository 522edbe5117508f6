/**
 * Failures from outside: rtpengine dying or hanging, a lossy network, and
 * malformed SIP over UDP and TCP. The node must answer fast and clearly, and
 * keep serving calls afterwards.
 */
import { createSocket } from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  badContentLengthRequest,
  buildRequest,
  garbageBytes,
  missingViaRequest,
  oversizedRequest,
  sdpOffer,
  sendTcp,
  sendUdp,
  statusCodeOf,
  truncatedRequest,
  type RequestSpec,
} from '../../../support/raw-sip.js';
import { runSipp, startSipp, type SippInstance } from '../../../support/sipp.js';
import { waitUntil } from '../../../support/wait.js';
import { CALLEE, CARRIER, MEDIA_NODES, SIG, startTestRegion, type TestRegion } from './harness.js';

const PROBE = { address: '127.0.4.5', port: 5099 };
/** Malformed-input probes use their own address, so no late retransmission to PROBE is mistaken for their answer. */
const BAD_PROBE = { address: '127.0.4.6', port: 5098 };

/** Send one INVITE and resolve with the first final status and how long it took. */
function timeInvite(spec: RequestSpec, timeoutMs = 5000, edit: (raw: string) => string = (r) => r): Promise<{ status: number | undefined; ms: number; text: string }> {
  return new Promise((resolve) => {
    const sock = createSocket('udp4');
    const started = performance.now();
    const finish = (status: number | undefined, text = ''): void => {
      clearTimeout(timer);
      sock.close();
      resolve({ status, ms: performance.now() - started, text });
    };
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    sock.on('message', (msg) => {
      const status = statusCodeOf(msg);
      if (status === undefined || status < 200) return;
      // ACK the non-2xx final inside its transaction (RFC 3261 §17.1.1.3) so the server stops retransmitting it.
      const text = msg.toString('latin1');
      const header = (name: string): string => new RegExp(`^${name}:.*$`, 'mi').exec(text)?.[0] ?? '';
      const ack = [
        `ACK sip:${spec.user ?? 'test'}@${spec.to.address}:${spec.to.port} SIP/2.0`,
        header('Via'), header('From'), header('To'), header('Call-ID'),
        'CSeq: 1 ACK', 'Max-Forwards: 70', 'Content-Length: 0', '', '',
      ].join('\r\n');
      sock.send(ack, spec.to.port, spec.to.address, () => finish(status, text));
    });
    sock.bind(spec.from.port, spec.from.address, () => sock.send(edit(buildRequest(spec).toString('latin1')), spec.to.port, spec.to.address));
  });
}

const inviteSpec = (user = '+15551239999'): RequestSpec => ({
  to: SIG,
  from: PROBE,
  user,
  body: sdpOffer(PROBE.address, 7000),
});

const waitFor = (cond: () => boolean, timeoutMs: number): Promise<number> => waitUntil(cond, timeoutMs, 'condition', 50);

describe('B2BUA under failure', () => {
  let region: TestRegion;
  let uas: SippInstance;
  beforeAll(async () => {
    region = await startTestRegion({ keyPrefix: 'it-fail:' });
    uas = await startSipp({ scenario: 'uas-echo.xml', localAddress: CALLEE.address, localPort: CALLEE.port, mediaPort: 22000, timeoutMs: 240_000 });
    await uas.ready;
  });
  afterAll(async () => {
    await uas?.stop(500);
    await region?.close();
  });

  const someCalls = (calls = 5, extra: Parameters<typeof runSipp>[0] extends infer O ? Partial<O> : never = {}) =>
    runSipp({
      scenario: 'uac-nomedia.xml',
      target: `${SIG.address}:${SIG.port}`,
      localAddress: CARRIER.address,
      localPort: CARRIER.port,
      mediaPort: 20000,
      service: '+15551230000',
      calls,
      rate: 20,
      callDurationMs: 100,
      timeoutMs: 60_000,
      ...extra,
    });

  it('one media node SIGKILLed: new calls avoid it within 2 s and still succeed', async () => {
    const victim = MEDIA_NODES[0]!.id;
    region.rtpengines.get(victim)!.kill('SIGKILL');
    const detectMs = await waitFor(() => !region.node.media.isHealthy(victim), 2000);
    expect(detectMs).toBeLessThan(2000);
    const res = await someCalls(10);
    expect(res.failedCalls, res.errorsTail).toBe(0);
    expect(res.successfulCalls).toBe(10);
    await region.startMedia(victim);
    await waitFor(() => region.node.media.isHealthy(victim), 3000);
  });

  it('every rtpengine hung (SIGSTOP): new calls get 503 with Retry-After in under 2 s, then succeed once it is back', async () => {
    for (const p of region.rtpengines.values()) p.kill('SIGSTOP');
    try {
      const r1 = await timeInvite(inviteSpec());
      expect(r1.status).toBe(503);
      expect(r1.ms).toBeLessThan(2000);
      expect(r1.text).toMatch(/^Retry-After: \d+\r$/m);
      // Once health checks have noticed, the answer is immediate.
      await waitFor(() => region.node.media.snapshot().every((n) => !n.healthy), 2000);
      const r2 = await timeInvite(inviteSpec());
      expect(r2.status).toBe(503);
      expect(r2.ms).toBeLessThan(200);
    } finally {
      for (const p of region.rtpengines.values()) p.kill('SIGCONT');
    }
    await waitFor(() => region.node.media.snapshot().every((n) => n.healthy), 5000);
    const res = await someCalls(5);
    expect(res.failedCalls, res.errorsTail).toBe(0);
    expect(res.successfulCalls).toBe(5);
  });

  it('every rtpengine stopped: 503 fast; restarted: calls succeed again', async () => {
    for (const p of region.rtpengines.values()) await p.stop(2000);
    const r = await timeInvite(inviteSpec());
    expect(r.status).toBe(503);
    expect(r.ms).toBeLessThan(2000);
    for (const n of MEDIA_NODES) await region.startMedia(n.id);
    await waitFor(() => region.node.media.snapshot().every((n) => n.healthy), 5000);
    const res = await someCalls(5);
    expect(res.failedCalls, res.errorsTail).toBe(0);
    expect(res.successfulCalls).toBe(5);
  });

  it('10% packet loss on both SIPp ends: at least 99% of calls complete', async () => {
    // Swap the callee for one that also drops 10% of what it receives.
    await uas.stop(500);
    const lossyCallee = await startSipp({
      scenario: 'uas-lossy.xml',
      localAddress: CALLEE.address,
      localPort: CALLEE.port,
      mediaPort: 22000,
      lostPercent: 10,
      timeoutMs: 120_000,
    });
    await lossyCallee.ready;
    let res;
    try {
      res = await someCalls(200, { lostPercent: 10, rate: 25, limit: 200, timeoutMs: 100_000 });
    } finally {
      await lossyCallee.stop(3000);
      uas = await startSipp({ scenario: 'uas-echo.xml', localAddress: CALLEE.address, localPort: CALLEE.port, mediaPort: 22000, timeoutMs: 240_000 });
      await uas.ready;
    }
    expect(res.successfulCalls + res.failedCalls).toBe(200);
    expect(res.successfulCalls / 200).toBeGreaterThanOrEqual(0.99);
    // The loss was real: both ends had to retransmit.
    expect(res.retransmissions).toBeGreaterThan(0);
  });

  it('malformed SIP over UDP gets 400 naming the problem, or is dropped; nothing crashes', async () => {
    const spec: RequestSpec = { ...inviteSpec(), from: BAD_PROBE };
    const counters = region.node.stack.counters;
    const droppedBefore = (counters.dropped ?? 0) + (counters.badRequests ?? 0);

    const badCl = await sendUdp(badContentLengthRequest(spec, 'non-numeric'), SIG, BAD_PROBE, 300);
    expect(badCl.map(statusCodeOf)).toEqual([400]);
    expect(badCl[0]!.toString('latin1').split('\r\n')[0]).toMatch(/^SIP\/2\.0 400 .*Content-Length/i);

    const larger = await sendUdp(badContentLengthRequest(spec, 'larger'), SIG, BAD_PROBE, 300);
    expect(larger.map(statusCodeOf)).toEqual([400]);

    const noVia = await sendUdp(missingViaRequest(spec), SIG, BAD_PROBE, 300);
    expect(noVia).toEqual([]); // no Via: no way to route a response (RFC 3261 §18.2.2), so dropped

    const truncated = await sendUdp(truncatedRequest(spec), SIG, BAD_PROBE, 300);
    expect(truncated.every((m) => statusCodeOf(m) === 400)).toBe(true);

    const garbage = await sendUdp(garbageBytes(1500), SIG, BAD_PROBE, 300);
    expect(garbage).toEqual([]);

    const c = region.node.stack.counters;
    expect((c.dropped ?? 0) + (c.badRequests ?? 0)).toBeGreaterThanOrEqual(droppedBefore + 4);
  });

  it('malformed SIP over TCP: 400 or the connection is closed; oversized messages never buffer without bound', async () => {
    const spec: RequestSpec = { ...inviteSpec(), from: BAD_PROBE, transport: 'TCP' };
    const badCl = await sendTcp(badContentLengthRequest(spec, 'negative'), SIG, 500, { address: BAD_PROBE.address });
    expect(badCl.responses.length === 0 ? badCl.closedByPeer : badCl.responses.every((m) => statusCodeOf(m) === 400)).toBe(true);

    const big = await sendTcp(oversizedRequest(spec, { totalBytes: 200_000, where: 'body' }), SIG, 1000, { address: BAD_PROBE.address });
    expect(big.closedByPeer || big.error !== undefined).toBe(true);
    expect(big.responses.every((m) => [400, 513].includes(statusCodeOf(m) ?? 0))).toBe(true);

    const hugeHeader = await sendTcp(oversizedRequest(spec, { totalBytes: 100_000, where: 'header' }), SIG, 1000, { address: BAD_PROBE.address });
    expect(hugeHeader.closedByPeer || hugeHeader.error !== undefined).toBe(true);

    const garbage = await sendTcp(garbageBytes(4000, 7), SIG, 500, { address: BAD_PROBE.address });
    expect(garbage.responses).toEqual([]);
  });

  it('Max-Forwards 0 gets 483; a request that already passed through this node gets 482', async () => {
    const hops = await timeInvite({ ...inviteSpec(), from: BAD_PROBE }, 3000, (r) => r.replace('Max-Forwards: 70', 'Max-Forwards: 0'));
    expect(hops.status).toBe(483);
    // RFC 3261 §16.3 step 4 (adapted): our own sent-by further down the Via list means a loop.
    const loop = await timeInvite({ ...inviteSpec(), from: BAD_PROBE }, 3000, (r) =>
      r.replace(/^(Via: [^\r]*\r\n)/m, `$1Via: SIP/2.0/UDP ${SIG.address}:${SIG.port};branch=z9hG4bKourselves\r\n`),
    );
    expect(loop.status).toBe(482);
    const badMf = await timeInvite({ ...inviteSpec(), from: BAD_PROBE }, 3000, (r) => r.replace('Max-Forwards: 70', 'Max-Forwards: many'));
    expect(badMf.status).toBe(400);
  });

  it('keeps serving calls after all of the above', async () => {
    const res = await someCalls(10);
    expect(res.failedCalls, res.errorsTail).toBe(0);
    expect(res.successfulCalls).toBe(10);
  });
});
