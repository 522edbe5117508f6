import { afterEach, describe, expect, it } from 'vitest';
import { AdmissionControl, type AdmissionLimits } from '../../../../signaling/b2bua/admission.js';

const LIMITS: AdmissionLimits = { maxEventLoopDelayMs: 100, maxInvitesInFlight: 10, minFreeMediaPorts: 64, targetEventLoopUtilization: 0.9 };

function make(limits: Partial<AdmissionLimits> = {}, sampleMs?: number) {
  const load = { inFlight: 1, freePorts: 1000 as number | undefined };
  const a = new AdmissionControl({ ...LIMITS, ...limits }, { invitesInFlight: () => load.inFlight, freeMediaPorts: () => load.freePorts }, sampleMs === undefined ? {} : { sampleMs });
  return { a, load };
}

describe('AdmissionControl', () => {
  let open: AdmissionControl | undefined;
  afterEach(() => open?.close());

  it('admits below every limit', () => {
    const { a } = make();
    expect(a.check()).toBeUndefined();
    expect(a.stats().refused).toEqual({ 'event-loop-delay': 0, 'invites-in-flight': 0, 'media-ports': 0, throttle: 0 });
  });

  it('refuses past each limit and counts refusals by reason', () => {
    const { a, load } = make();
    load.inFlight = 10; // the new INVITE would be the 11th
    expect(a.check()).toBe('invites-in-flight');
    load.inFlight = 9; // the new one is the 10th: within the limit
    expect(a.check()).toBeUndefined();
    a.setEventLoopDelayForTest(150);
    expect(a.check()).toBe('event-loop-delay');
    a.setEventLoopDelayForTest(5);
    load.freePorts = 63;
    expect(a.check()).toBe('media-ports');
    load.freePorts = undefined; // no port range known: nothing to refuse on
    expect(a.check()).toBeUndefined();
    expect(a.stats()).toMatchObject({ invitesInFlight: 9, eventLoopDelayMs: 5, refused: { 'event-loop-delay': 1, 'invites-in-flight': 1, 'media-ports': 1 } });
  });

  it('a limit of 0 turns its check off', () => {
    const { a, load } = make({ maxInvitesInFlight: 0, maxEventLoopDelayMs: 0, minFreeMediaPorts: 0, targetEventLoopUtilization: 0 });
    load.inFlight = 1_000_000;
    load.freePorts = 0;
    a.setEventLoopDelayForTest(10_000);
    for (let i = 0; i < 50; i++) a.applyWindow(0, 1);
    expect(a.stats().admitShare).toBe(1);
    expect(a.check()).toBeUndefined();
  });

  it('the throttle: over the target utilization the admitted share shrinks to a steady fraction, refusals are spread evenly, and it recovers below the target', () => {
    const { a } = make({ maxEventLoopDelayMs: 0 });
    a.applyWindow(0, 0.5);
    expect(a.stats().admitShare).toBe(1);
    // Up to four busy windows in a row (a GC pause, a burst, a stall) change nothing; a fifth does.
    for (let i = 0; i < 4; i++) a.applyWindow(0, 1);
    expect(a.stats().admitShare).toBe(1);
    a.applyWindow(0, 0.5);
    for (let i = 0; i < 4; i++) a.applyWindow(0, 1);
    expect(a.stats().admitShare).toBe(1);
    // Saturated: 10 % less per window.
    a.applyWindow(0, 1);
    expect(a.stats().admitShare).toBeCloseTo(0.9, 3);
    a.applyWindow(0, 0.97);
    a.applyWindow(0, 0.95);
    expect(a.stats().admitShare).toBeCloseTo(0.9 ** 3, 3);
    // Of 1000 new INVITEs at share 0.729, 729 ± 1 are admitted, and never two refusals run far apart from the share.
    const share = a.stats().admitShare;
    let admitted = 0;
    let longestRefusalRun = 0;
    let run = 0;
    for (let i = 0; i < 1000; i++) {
      if (a.check() === undefined) {
        admitted++;
        run = 0;
      } else longestRefusalRun = Math.max(longestRefusalRun, ++run);
    }
    expect(Math.abs(admitted - share * 1000)).toBeLessThanOrEqual(1);
    expect(longestRefusalRun).toBe(1);
    expect(a.stats().refused.throttle).toBe(1000 - admitted);
    // Never below the floor, however long the overload.
    for (let i = 0; i < 100; i++) a.applyWindow(0, 1);
    expect(a.stats().admitShare).toBe(0.05);
    // Just under the target: 5 points per window; well under: 10.
    a.applyWindow(0, 0.85);
    expect(a.stats().admitShare).toBeCloseTo(0.1, 3);
    for (let i = 0; i < 10; i++) a.applyWindow(0, 0.3);
    expect(a.stats().admitShare).toBe(1);
    expect(a.check()).toBeUndefined();
  });

  it('measures the event loop: a loop blocked over two windows reads as delay, one blocked window does not', async () => {
    const { a } = make({}, 60_000); // the test takes the samples itself
    open = a;
    a.start();
    a.start(); // idempotent
    const blockedWindow = async (): Promise<void> => {
      await new Promise((r) => setTimeout(r, 60));
      const until = Date.now() + 200;
      while (Date.now() < until) {
        // block the loop for 200 ms
      }
      await new Promise((r) => setTimeout(r, 20));
      a.sample();
    };
    await blockedWindow();
    expect(a.stats().eventLoopDelayMs).toBe(0); // a single spike
    expect(a.check()).toBeUndefined();
    await blockedWindow();
    expect(a.stats().eventLoopDelayMs).toBeGreaterThan(100);
    expect(a.check()).toBe('event-loop-delay');
    a.close();
    a.close();
  });
});
