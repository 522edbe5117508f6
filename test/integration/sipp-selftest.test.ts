/**
 * The SIPp scenarios and test-support helpers, checked against each other
 * with no B2BUA in between: every UAC scenario runs against the UAS it pairs
 * with, so a later B2BUA test that fails points at the B2BUA, not at SIPp.
 * Addresses: 127.0.5.0/24 (UAC 127.0.5.1, UAS 127.0.5.2, raw probes 127.0.5.9).
 */
import { createSocket, type Socket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import {
  badContentLengthRequest,
  buildRequest,
  garbageBytes,
  missingViaRequest,
  oversizedRequest,
  sdpOffer,
  sendTcp,
  sendUdp,
  splitSipStream,
  statusCodeOf,
  truncatedRequest,
} from '../support/raw-sip.js';
import { isPortBound } from '../support/ports.js';
import {
  parseScenarioScreen,
  parseStatCsv,
  runSipp,
  startSipp,
  type SippInstance,
  type SippOptions,
  type SippResult,
} from '../support/sipp.js';

const UAC_IP = '127.0.5.1';
const UAS_IP = '127.0.5.2';
const PROBE_IP = '127.0.5.9';
const UAS_PORT = 5090;
const UAS_MEDIA_PORT = 16000;
const UAC_MEDIA_PORT = 16100;
const TARGET = `${UAS_IP}:${UAS_PORT}`;

let uas: SippInstance | undefined;
const sockets: Socket[] = [];

afterEach(async () => {
  await uas?.stop(500);
  uas = undefined;
  for (const s of sockets.splice(0)) s.close();
});

async function startUas(scenario: string, extra: Partial<SippOptions> = {}): Promise<SippInstance> {
  uas = await startSipp({
    scenario,
    localAddress: UAS_IP,
    localPort: UAS_PORT,
    mediaPort: UAS_MEDIA_PORT,
    timeoutMs: 90_000,
    ...extra,
  });
  await uas.ready;
  return uas;
}

function runUac(scenario: string, calls: number, extra: Partial<SippOptions> = {}): Promise<SippResult> {
  return runSipp({
    scenario,
    target: TARGET,
    localAddress: UAC_IP,
    mediaPort: UAC_MEDIA_PORT,
    service: '+15551234567',
    calls,
    rate: 10,
    timeoutMs: 40_000,
    ...extra,
  });
}

/** Stop the UAS (it ends once its open calls are done) and return its result. */
async function stopUas(): Promise<SippResult> {
  const instance = uas;
  uas = undefined;
  if (instance === undefined) throw new Error('no UAS running');
  return instance.stop(3000);
}

function expectAllOk(r: SippResult, calls: number): void {
  const why = `${r.args.join(' ')}\n${r.errorsTail}\n${r.stderrTail}`;
  expect(r.successfulCalls, why).toBe(calls);
  expect(r.failedCalls, why).toBe(0);
}

function row(r: SippResult, name: string, direction: 'in' | 'out'): number {
  return r.screen.filter((x) => x.name === name && x.direction === direction).reduce((n, x) => n + x.messages, 0);
}

describe('SIPp scenarios against each other', () => {
  it('uac-basic plays the G.711 pcap to uas-echo, which echoes it back', async () => {
    await startUas('uas-echo.xml', { rtpEcho: true });
    // Call 2's SDP offers [auto_media_port] = UAC_MEDIA_PORT + 4, a port SIPp does not bind:
    // the pcap replay uses it as source port, so the echo lands on our socket there.
    const echoSock = createSocket('udp4');
    sockets.push(echoSock);
    let echoed = 0;
    echoSock.on('message', (m) => {
      if (m.length >= 12 && (m[1]! & 0x7f) === 8) echoed += 1; // RTP, payload type 8 (PCMA)
    });
    await new Promise<void>((r) => echoSock.bind(UAC_MEDIA_PORT + 4, UAC_IP, () => r()));

    const uac = await runUac('uac-basic.xml', 2);
    expectAllOk(uac, 2);
    expect(uac.exitCode).toBe(0);
    expect(uac.durationMs).toBeGreaterThan(7000);
    const uasResult = await stopUas();
    expectAllOk(uasResult, 2);
    // 236 packets in g711a.pcap; allow a few lost on a busy machine.
    expect(echoed).toBeGreaterThan(200);
    expect(echoed).toBeLessThanOrEqual(236);
  }, 60_000);

  it('uac-nomedia places 20 calls at 20 cps, all answered by uas-echo', async () => {
    await startUas('uas-echo.xml');
    const uac = await runUac('uac-nomedia.xml', 20, { rate: 20, limit: 20, callDurationMs: 100, traceRtt: true });
    expectAllOk(uac, 20);
    expect(uac.createdCalls).toBe(20);
    expect(uac.responseTimesMs).toHaveLength(20);
    expect(row(uac, 'INVITE', 'out')).toBe(20);
    expect(row(uac, 'BYE', 'out')).toBe(20);
    expectAllOk(await stopUas(), 20);
  });

  it('uas-bye hangs up after -d ms and uac-recv-bye answers the BYE', async () => {
    await startUas('uas-bye.xml', { callDurationMs: 300 });
    const uac = await runUac('uac-recv-bye.xml', 3);
    expectAllOk(uac, 3);
    expect(row(uac, 'BYE', 'in')).toBe(3);
    const u = await stopUas();
    expectAllOk(u, 3);
    expect(row(u, 'BYE', 'out')).toBe(3);
  });

  it('uac-expect-486 counts a 486 from uas-busy as success and ACKs it', async () => {
    await startUas('uas-busy.xml');
    const uac = await runUac('uac-expect-486.xml', 3);
    expectAllOk(uac, 3);
    const u = await stopUas();
    expectAllOk(u, 3); // the UAS only succeeds once the ACK arrived
    expect(row(u, 'ACK', 'in')).toBe(3);
  });

  it.each([404, 408, 480, 487, 500, 503, 603].map((code) => ({ code })))(
    'uac-expect-$code pairs with uas-reject-$code',
    async ({ code }) => {
      await startUas(`uas-reject-${code}.xml`);
      const uac = await runUac(`uac-expect-${code}.xml`, 2);
      expectAllOk(uac, 2);
      expectAllOk(await stopUas(), 2);
    },
  );

  it('an expect scenario fails the call when another status arrives', async () => {
    await startUas('uas-reject-503.xml');
    const uac = await runUac('uac-expect-486.xml', 2, { recvTimeoutMs: 3000 });
    expect(uac.successfulCalls).toBe(0);
    expect(uac.failedCalls).toBe(2);
    expect(uac.exitCode).toBe(1);
    expect(Number(uac.stats['FailedUnexpectedMessage(C)'])).toBe(2);
  });

  it('uac-cancel cancels a ringing uas-ring: 200 for CANCEL, 487 for INVITE, ACK', async () => {
    await startUas('uas-ring.xml');
    const uac = await runUac('uac-cancel.xml', 3);
    expectAllOk(uac, 3);
    expect(row(uac, 'CANCEL', 'out')).toBe(3);
    expect(row(uac, '487', 'in')).toBe(3);
    const u = await stopUas();
    expectAllOk(u, 3);
    expect(row(u, 'ACK', 'in')).toBe(3);
  });

  it('uac-reinvite holds and resumes against uas-reinvite with matching directions', async () => {
    await startUas('uas-reinvite.xml', { traceLogs: true });
    const uac = await runUac('uac-reinvite.xml', 2, { traceLogs: true });
    expectAllOk(uac, 2);
    expect(uac.logLines.filter((l) => l === 'hold-answer recvonly')).toHaveLength(2);
    expect(uac.logLines.filter((l) => l === 'resume-answer sendrecv')).toHaveLength(2);
    expect(row(uac, 'INVITE', 'out')).toBe(6);
    const u = await stopUas();
    expectAllOk(u, 2);
    expect(u.logLines.filter((l) => l.startsWith('reinvite-offer sendonly'))).toHaveLength(2);
  });

  it('uac-nomedia and uas-echo also run over TCP (-t t1)', async () => {
    await startUas('uas-echo.xml', { transport: 't1' });
    const uac = await runUac('uac-nomedia.xml', 3, { transport: 't1' });
    expectAllOk(uac, 3);
    expectAllOk(await stopUas(), 3);
  });
});

describe('uas-silent and raw SIP', () => {
  const to = { address: UAS_IP, port: UAS_PORT };
  const from = { address: PROBE_IP, port: 5099 };

  it('uas-silent never answers an INVITE, but answers a CANCEL with 200 and 487', async () => {
    await startUas('uas-silent.xml');
    const spec = { to, from, callId: 'silent-1', branch: 'z9hG4bK-silent-1', fromTag: 'f1', body: sdpOffer(PROBE_IP, 40000) };
    expect(await sendUdp(buildRequest(spec), to, from, 1000)).toEqual([]);

    const cancel = buildRequest({ ...spec, method: 'CANCEL', body: '' });
    const replies = await sendUdp(cancel, to, from, 1000);
    // The 487 may be retransmitted (500 ms) while it waits for our ACK.
    expect([...new Set(replies.map(statusCodeOf))].sort()).toEqual([200, 487]);
    const r487 = replies.find((m) => statusCodeOf(m) === 487)!.toString();
    expect(r487).toMatch(/^CSeq: 1 INVITE\r$/m);
    const toTag = /^To: .*;tag=(\S+)\r$/m.exec(r487)?.[1];
    expect(toTag).toBeDefined();

    const ack = buildRequest({ ...spec, method: 'ACK', body: '', extraHeaders: [] }).toString()
      .replace(/^To: (.*)\r$/m, `To: $1;tag=${toTag}\r`);
    expect(await sendUdp(Buffer.from(ack), to, from, 300)).toEqual([]);
    const u = await stopUas();
    expectAllOk(u, 1);
  });

  it('sendTcp gets SIPp answers split into messages; refused connects reject', async () => {
    await startUas('uas', { transport: 't1' });
    const spec = { to, from: { address: PROBE_IP, port: 5099 }, transport: 'TCP' as const, body: sdpOffer(PROBE_IP, 40000) };
    const res = await sendTcp(buildRequest(spec), to, 1000, { address: PROBE_IP });
    expect(res.responses.map(statusCodeOf)).toEqual([180, 200]);
    expect(res.closedByPeer).toBe(false);
    await expect(sendTcp(buildRequest(spec), { address: UAS_IP, port: 5999 }, 1000)).rejects.toMatchObject({
      code: 'TRANSPORT_ERROR',
    });
  });

  it('sendUdp refuses what cannot be one datagram', async () => {
    const big = oversizedRequest({ to, from });
    await expect(sendUdp(big, to, from, 100)).rejects.toMatchObject({ code: 'TOO_LARGE' });
  });
});

describe('runSipp limits and parsing', () => {
  it('kills SIPp at timeoutMs and still reports what it did', async () => {
    await startUas('uas-silent.xml');
    const uac = await runUac('uac-nomedia.xml', 1, { timeoutMs: 1500 });
    expect(uac.timedOut).toBe(true);
    expect(uac.durationMs).toBeLessThan(5000);
    expect(uac.successfulCalls).toBe(0);
    expect(uac.createdCalls).toBe(1);
    expect(await isPortBound(UAC_IP, 5060, 'udp')).toBe(false);
  });

  it('startSipp.ready rejects when SIPp cannot start', async () => {
    const bad = await startSipp({ scenario: 'no-such-scenario.xml', localAddress: UAS_IP, localPort: 5094, timeoutMs: 5000 });
    await expect(bad.ready).rejects.toMatchObject({ code: 'INTERNAL' });
    const r = await bad.stop();
    expect(r.exitCode).not.toBe(0);
    expect(await bad.stop()).toBe(r); // idempotent
  });

  it('parses the stats CSV and both scenario screen layouts', () => {
    expect(parseStatCsv('A;B;SuccessfulCall(C);\n1;2;3;\n4;5;6;\n')).toEqual({ A: '4', B: '5', 'SuccessfulCall(C)': '6' });
    const uacScreen = [
      '------------------------------ Scenario Screen -------- [1-9]: Change Screen --',
      '      INVITE ---------->         5         1         0                         ',
      '         180 <----------         5         0         0         2               ',
      '         200 <----------  E-RTD1 5         0         0         0               ',
      '       Pause [      0ms]         5                             1        ',
      '------------------------------ Test Terminated --------------------------------',
    ].join('\n');
    expect(parseScenarioScreen(uacScreen)).toEqual([
      { name: 'INVITE', direction: 'out', messages: 5, retrans: 1, timeouts: 0, unexpected: 0 },
      { name: '180', direction: 'in', messages: 5, retrans: 0, timeouts: 0, unexpected: 2 },
      { name: '200', direction: 'in', messages: 5, retrans: 0, timeouts: 0, unexpected: 0 },
      { name: 'Pause', direction: 'pause', messages: 5, retrans: 0, timeouts: 0, unexpected: 1 },
    ]);
    const uasScreen = [
      '------------------------------ Scenario Screen -------- [1-9]: Change Screen --',
      '  ----------> INVITE             5         0         0         0               ',
      '  <---------- 180                5         0                                   ',
      '  ----------> ACK         E-RTD1 5         0         0         0               ',
      '  [   4000ms] Pause              5                             0        ',
    ].join('\n');
    expect(parseScenarioScreen(uasScreen).map((r) => `${r.direction}:${r.name}:${r.messages}`)).toEqual([
      'in:INVITE:5',
      'out:180:5',
      'in:ACK:5',
      'pause:Pause:5',
    ]);
  });
});

describe('raw SIP builders', () => {
  const spec = { to: { address: UAS_IP, port: UAS_PORT }, from: { address: PROBE_IP, port: 5099 } };
  const head = (b: Buffer): string => b.toString('latin1').split('\r\n\r\n')[0]!;

  it('builds a well-formed request with a matching Content-Length', () => {
    const body = sdpOffer(PROBE_IP, 40000);
    const msg = buildRequest({ ...spec, body });
    expect(msg.toString()).toMatch(/^INVITE sip:test@127\.0\.5\.2:5090 SIP\/2\.0\r\n/);
    expect(head(msg)).toContain(`Content-Length: ${Buffer.byteLength(body)}`);
    expect(splitSipStream(Buffer.concat([msg, Buffer.from('\r\n\r\n'), msg]))).toHaveLength(2);
  });

  it('builds oversized requests of the asked size, padded in body or header', () => {
    const body = oversizedRequest(spec);
    expect(body.length).toBe(70_000);
    expect(splitSipStream(body)).toEqual([body]); // Content-Length is right
    const header = oversizedRequest(spec, { totalBytes: 66_000, where: 'header' });
    expect(header.length).toBe(66_000);
    expect(head(header)).toMatch(/X-Padding: a{60000,}/);
  });

  it('builds truncated, bad Content-Length, Via-less and garbage messages', () => {
    const t = truncatedRequest(spec);
    expect(t.includes('\r\n\r\n')).toBe(false);
    expect(t.length).toBeGreaterThan(20);
    const len = (kind: Parameters<typeof badContentLengthRequest>[1]): string | undefined =>
      /^Content-Length: (.*)$/m.exec(head(badContentLengthRequest(spec, kind)))?.[1];
    const real = Buffer.byteLength(sdpOffer(PROBE_IP, 40000));
    expect(len('larger')).toBe(String(real + 100));
    expect(len('smaller')).toBe(String(real - 5));
    expect(len('negative')).toBe('-1');
    expect(len('non-numeric')).toBe('abc');
    expect(len('missing')).toBeUndefined();
    expect(head(missingViaRequest(spec))).not.toMatch(/^Via:/im);
    expect(head(missingViaRequest(spec))).toMatch(/^CSeq: 1 INVITE$/m);
    const g = garbageBytes(512, 7);
    expect(g).toHaveLength(512);
    expect(g.equals(garbageBytes(512, 7))).toBe(true);
    expect(g.equals(garbageBytes(512, 8))).toBe(false);
  });
});
