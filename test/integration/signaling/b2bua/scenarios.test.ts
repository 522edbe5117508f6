/**
 * Call outcomes through the B2BUA with SIPp on both sides: CANCEL before
 * answer, callee busy, silent callee, callee hangs up, hold and resume,
 * unknown number, TCP legs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSipp, startSipp, type SippOptions, type SippResult } from '../../../support/sipp.js';
import { CALLEE, CARRIER, SIG, startTestRegion, type TestRegion } from './harness.js';

describe('B2BUA call outcomes', () => {
  let region: TestRegion;
  beforeAll(async () => {
    // T1 = 100 ms keeps Timer B (64*T1) at 6.4 s so the silent-callee case stays quick.
    region = await startTestRegion({ keyPrefix: 'it-scen:', t1: 100 });
  });
  afterAll(async () => {
    await region?.close();
  });

  const carrier = (scenario: string, extra: Partial<SippOptions> = {}): Promise<Awaited<ReturnType<typeof runSipp>>> =>
    runSipp({
      scenario,
      target: `${SIG.address}:${SIG.port}`,
      localAddress: CARRIER.address,
      localPort: CARRIER.port,
      mediaPort: 20000,
      service: '+15551230000',
      calls: 3,
      rate: 10,
      timeoutMs: 40_000,
      ...extra,
    });

  /** Run `fn` with a SIPp callee up; returns fn's result and the callee's own counts. */
  async function withCallee<T>(scenario: string, fn: () => Promise<T>, extra: Partial<SippOptions> = {}): Promise<[T, SippResult]> {
    const uas = await startSipp({ scenario, localAddress: CALLEE.address, localPort: CALLEE.port, mediaPort: 22000, timeoutMs: 60_000, ...extra });
    await uas.ready;
    let out: T;
    let calleeResult: SippResult;
    try {
      out = await fn();
    } finally {
      calleeResult = await uas.stop(500);
    }
    return [out, calleeResult];
  }

  const failures = (status: number): number => region.node.b2bua.counters.failures[status] ?? 0;

  it('CANCEL before answer: caller gets 200 + 487, callee is cancelled', async () => {
    const before = failures(487);
    const [res, callee] = await withCallee('uas-ring.xml', () => carrier('uac-cancel.xml'));
    expect(res.failedCalls, res.errorsTail).toBe(0);
    expect(res.successfulCalls).toBe(3);
    expect(failures(487) - before).toBe(3);
    // uas-ring counts a call as successful only when the CANCEL reached it (200 + 487 + ACK).
    expect(callee.successfulCalls, callee.errorsTail).toBe(3);
    expect(region.node.b2bua.activeCalls).toBe(0);
  });

  it('callee busy: 486 is relayed to the caller', async () => {
    const before = failures(486);
    const [res] = await withCallee('uas-busy.xml', () => carrier('uac-expect-486.xml'));
    expect(res.failedCalls, res.errorsTail).toBe(0);
    expect(res.successfulCalls).toBe(3);
    expect(failures(486) - before).toBe(3);
  });

  it('silent callee: caller gets 408 after Timer B', async () => {
    const started = Date.now();
    const [res] = await withCallee('uas-silent.xml', () => carrier('uac-expect-408.xml', { calls: 1 }));
    const elapsed = Date.now() - started;
    expect(res.failedCalls, res.errorsTail).toBe(0);
    expect(res.successfulCalls).toBe(1);
    // Timer B = 64 * T1 = 6.4 s here; the caller must neither hang nor be failed early.
    expect(elapsed).toBeGreaterThan(6000);
    expect(elapsed).toBeLessThan(20_000);
    expect(region.node.b2bua.activeCalls).toBe(0);
  });

  it('callee hangs up: BYE from the callee reaches the caller', async () => {
    const before = region.node.b2bua.counters.completed;
    const [res, callee] = await withCallee('uas-bye.xml', () => carrier('uac-recv-bye.xml'), { callDurationMs: 1000 });
    expect(res.failedCalls, res.errorsTail).toBe(0);
    expect(res.successfulCalls).toBe(3);
    expect(region.node.b2bua.counters.completed - before).toBe(3);
    expect(callee.successfulCalls, callee.errorsTail).toBe(3);
  });

  it('re-INVITE hold and resume get fresh offer/answer through rtpengine', async () => {
    const [res, callee] = await withCallee('uas-reinvite.xml', () => carrier('uac-reinvite.xml', { calls: 2, traceLogs: true }), { traceLogs: true });
    expect(res.failedCalls, res.errorsTail).toBe(0);
    expect(res.successfulCalls).toBe(2);
    // The scenario itself fails a call unless the hold answer is recvonly/inactive and
    // the resume answer is sendrecv; its log lines say which direction was seen.
    expect(res.logLines.some((l) => /hold-answer (recvonly|inactive)/.test(l))).toBe(true);
    expect(res.logLines.some((l) => /resume-answer sendrecv/.test(l))).toBe(true);
    // The callee saw both re-INVITEs with the direction the caller asked for.
    expect(callee.logLines.some((l) => /reinvite-offer sendonly/.test(l))).toBe(true);
  });

  it('unknown number: 404 without touching the callee', async () => {
    const before = failures(404);
    const res = await carrier('uac-expect-404.xml', { service: '+4420000000', calls: 2 });
    expect(res.failedCalls, res.errorsTail).toBe(0);
    expect(res.successfulCalls).toBe(2);
    expect(failures(404) - before).toBe(2);
  });

  it('TCP on both legs: carrier over TCP, route with transport=tcp', async () => {
    const before = region.node.b2bua.counters.completed;
    const [res] = await withCallee(
      'uas-echo.xml',
      () => carrier('uac-nomedia.xml', { transport: 't1', service: '+16661230000', calls: 5, callDurationMs: 200 }),
      { transport: 't1' },
    );
    expect(res.failedCalls, res.errorsTail).toBe(0);
    expect(res.successfulCalls).toBe(5);
    expect(region.node.b2bua.counters.completed - before).toBe(5);
  });

  it('a BYE in an ended call\'s dialog, 6 s later (past the BYE transaction\'s linger), gets 200 from the ended leg, not 481', async () => {
    // sip.transactionLingerMs 5000 (the default; T4 5 s is its floor): 6 s after the 200 no transaction answers it.
    expect(region.node.stack.timers.linger).toBe(5000);
    const [res, callee] = await withCallee('uas-echo.xml', () => carrier('uac-bye-again.xml', { calls: 2, rate: 2 }));
    expect(res.failedCalls, res.errorsTail).toBe(0);
    expect(res.successfulCalls).toBe(2);
    expect(callee.successfulCalls, callee.errorsTail).toBe(2);
  });
});
