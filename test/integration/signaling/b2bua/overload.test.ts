/**
 * Overload and node loss on the new-call path, with real rtpengines and SIPp:
 * - a media node SIGKILLed just before a burst of INVITEs: the offers that
 *   go to it (health checks have not noticed yet) are moved to the other node
 *   within the call's budget, and every call succeeds (no 503);
 * - admission control: past the configured INVITEs in flight, new INVITEs
 *   are refused with 503 + Retry-After at once, and admitted again after.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeMetricsSnapshot } from '../../../../infra/node-metrics.js';
import { runSipp, startSipp, type SippInstance } from '../../../support/sipp.js';
import { waitUntil } from '../../../support/wait.js';
import { CALLEE, CARRIER, MEDIA_NODES, SIG, startTestRegion, type TestRegion } from './harness.js';

describe('new calls while a media node dies', () => {
  let region: TestRegion;
  let uas: SippInstance;
  beforeAll(async () => {
    // Slow health checks: the burst below lands well inside the window in which the dead node still looks healthy.
    region = await startTestRegion({ keyPrefix: 'it-ovl-retry:', healthIntervalMs: 3000, logLevel: 'info' });
    uas = await startSipp({ scenario: 'uas-echo.xml', localAddress: CALLEE.address, localPort: CALLEE.port, mediaPort: 22000, timeoutMs: 120_000 });
    await uas.ready;
  });
  afterAll(async () => {
    await uas?.stop(500);
    await region?.close();
  });

  it('SIGKILL of a node just before INVITEs: offers move to the other node and every call succeeds within the budget', async () => {
    const victim = MEDIA_NODES[0]!.id;
    // Placement's first choice (least loaded, ties by id) is the victim.
    expect(region.node.media.chooseNode().id).toBe(victim);
    const failuresBefore = { ...region.node.b2bua.counters.failures };
    region.rtpengines.get(victim)!.kill('SIGKILL');
    const res = await runSipp({
      scenario: 'uac-nomedia.xml',
      target: `${SIG.address}:${SIG.port}`,
      localAddress: CARRIER.address,
      localPort: CARRIER.port,
      mediaPort: 20000,
      service: '+15551230000',
      calls: 10,
      rate: 50,
      callDurationMs: 100,
      traceRtt: true,
      timeoutMs: 60_000,
    });
    expect(res.failedCalls, res.errorsTail).toBe(0);
    expect(res.successfulCalls).toBe(10);
    // The retry path was taken (the dead node still looked healthy) ...
    const log = readFileSync(join(region.logDir, 'signaling.log'), 'utf8');
    const moved = log.split('\n').filter((l) => l.includes('media offer failed; trying another node') && l.includes(victim));
    expect(moved.length).toBeGreaterThan(0);
    // ... no 503 went out ...
    expect(region.node.b2bua.counters.failures['503'] ?? 0).toBe(failuresBefore['503'] ?? 0);
    // ... and the slowest answer stayed within the offer budget (2.5 s) plus the callee's part.
    if (res.responseTimesMs.length > 0) expect(Math.max(...res.responseTimesMs)).toBeLessThan(3000);
    await region.startMedia(victim);
    await waitUntil(() => region.node.media.isHealthy(victim), 8000, 'victim healthy again', 50);
  });
});

describe('admission control', () => {
  const MAX_IN_FLIGHT = 3;
  let region: TestRegion;
  let uas: SippInstance;
  beforeAll(async () => {
    region = await startTestRegion({
      keyPrefix: 'it-ovl-admission:',
      admission: { maxInvitesInFlight: MAX_IN_FLIGHT },
      // Admitted calls ring until the no-answer timer: they stay in flight meanwhile.
      noAnswerTimeoutSeconds: 3,
    });
    uas = await startSipp({ scenario: 'uas-ring.xml', localAddress: CALLEE.address, localPort: CALLEE.port, mediaPort: 22000, timeoutMs: 120_000 });
    await uas.ready;
  });
  afterAll(async () => {
    await uas?.stop(500);
    await region?.close();
  });

  it('past the INVITEs in flight limit, a burst is answered 503 with Retry-After; the limit shows in metrics', async () => {
    const burst = 10;
    const res = await runSipp({
      scenario: 'uac-expect-503.xml',
      target: `${SIG.address}:${SIG.port}`,
      localAddress: CARRIER.address,
      localPort: CARRIER.port,
      mediaPort: 20000,
      service: '+15551230000',
      calls: burst,
      rate: 200,
      traceMessages: true,
      timeoutMs: 30_000,
    });
    // uac-expect-503 counts a call as successful only when it got 503; the admitted ones rang until the no-answer timer.
    expect(res.successfulCalls, res.errorsTail).toBe(burst - MAX_IN_FLIGHT);
    expect(res.failedCalls).toBe(MAX_IN_FLIGHT);
    const messages = readFileSync(join(res.workDir!, 'messages.log'), 'latin1');
    const refusals = messages.split(/\r?\n\r?\n/).filter((m) => /SIP\/2\.0 503 Node Overloaded/.test(m));
    expect(refusals.length).toBeGreaterThanOrEqual(burst - MAX_IN_FLIGHT);
    for (const r of refusals) expect(r).toMatch(/^Retry-After: \d+\r?$/m);

    const snap = nodeMetricsSnapshot(region.node);
    expect(snap.admission?.limits.maxInvitesInFlight).toBe(MAX_IN_FLIGHT);
    expect(snap.admission?.refused['invites-in-flight']).toBe(burst - MAX_IN_FLIGHT);
    // Once the ringing calls ended, nothing is in flight and new calls are admitted again.
    await waitUntil(() => region.node.stack.invitesInFlight === 0, 10_000, 'no INVITE in flight', 50);
    expect(region.node.admission.check()).toBeUndefined();
  });
});
