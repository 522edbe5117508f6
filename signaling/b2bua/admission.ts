/**
 * Admission control of new calls (DESIGN.md "Failure is normal": overload).
 *
 * A node past its capacity that keeps taking calls serves all of them late:
 * INVITEs are retransmitted, 200s are answered after the caller gave up, ACKs
 * are lost and answered calls are torn down — goodput falls as load rises.
 * So new INVITEs are refused with 503 + Retry-After (RFC 3261 §21.5.4) in two
 * ways, both before a resource runs out.
 *
 * A throttle keeps goodput on a plateau past the knee: every window (100 ms)
 * the event loop's utilization (the share of the window it was busy,
 * performance.eventLoopUtilization) is compared with a target (default 0.95).
 * Above it in five windows in a row, the share of new INVITEs admitted shrinks
 * by 15 %; in a window below it, it grows back (by 10 points when the loop is
 * well below, 2 points when just below). The admitted INVITEs are spread evenly (a credit counter, not a coin),
 * so a node at 3x its capacity admits about its capacity and refuses the rest
 * cheaply, instead of taking everything, serving all of it late, and then
 * refusing everything in turn.
 *
 * Hard limits refuse every new INVITE while any of them says the node is at
 * its limit:
 *
 * - the event loop's delay (perf_hooks.monitorEventLoopDelay: the p99 of each
 *   sample window, the lower of the last two, so one GC pause or one moment
 *   without CPU on a shared machine refuses nothing): the node's CPU is spent
 *   and every message waits;
 * - INVITE transactions waiting for their final response (the SIP stack's
 *   gauge; the new INVITE is not among them, as the check runs before its
 *   transaction exists): work accepted and not yet finished;
 * - free RTP ports on the media nodes that take new calls (the registry's
 *   estimate): the next offers would fail with "Ran out of ports".
 *
 * Refusing is cheap: the SIP stack asks before the INVITE has a transaction
 * and answers statelessly (sip/transaction/layer.ts InviteGate: one 503, no
 * 100 Trying, no timers, no lookup, no media), so the node keeps serving the
 * calls it admits at full speed. A limit of 0 turns its check off.
 */
import { monitorEventLoopDelay, performance, type EventLoopUtilization, type IntervalHistogram } from 'node:perf_hooks';

export interface AdmissionLimits {
  /** Refuse while the event loop's p99 delay over the last window is above this, ms. 0: off. */
  maxEventLoopDelayMs: number;
  /** Refuse a new INVITE while this many (or more) already wait for their final response. 0: off. */
  maxInvitesInFlight: number;
  /** Refuse while fewer RTP ports than this are free on the media nodes that take new calls. 0: off. */
  minFreeMediaPorts: number;
  /** Throttle new INVITEs while the event loop is busier than this share of each window (0..1). 0: off. */
  targetEventLoopUtilization: number;
}

/** Why a call was refused; the label of `mesh_admission_refused_total`. */
export type AdmissionRefusal = 'event-loop-delay' | 'invites-in-flight' | 'media-ports' | 'throttle';
export const ADMISSION_REFUSALS: readonly AdmissionRefusal[] = ['event-loop-delay', 'invites-in-flight', 'media-ports', 'throttle'];

/** The throttle never admits less than this share: a node refusing everything would never learn it recovered. */
const MIN_ADMIT_SHARE = 0.05;
/** Windows in a row the loop must be busier than the target before the throttle acts. */
const SUSTAIN_WINDOWS = 5;
/** Share lost per window over the target. */
const DECREASE = 0.1;
/** Share regained per window: well below the target (10 points under it or more), and just below. */
const FAST_INCREASE = 0.1;
const SLOW_INCREASE = 0.05;

/** Where the node's load is read from (the SIP stack and the media node registry, wired by infra/). */
export interface AdmissionSources {
  invitesInFlight(): number;
  /** Undefined when unknown (no node has a port range configured): the check passes. */
  freeMediaPorts(): number | undefined;
}

/** What /metrics and /v1 show: the limits, the load now, and refusals by reason since start. */
export interface AdmissionStats {
  limits: AdmissionLimits;
  eventLoopDelayMs: number;
  invitesInFlight: number;
  freeMediaPorts: number | undefined;
  /** The event loop's utilization in the last window (0..1). */
  eventLoopUtilization: number;
  /** Share of new INVITEs the throttle admits now (1: all). */
  admitShare: number;
  refused: Record<AdmissionRefusal, number>;
}

export interface AdmissionOptions {
  /** Event-loop delay and utilization are summarized over windows this long. Default 100 ms. */
  sampleMs?: number;
}

export class AdmissionControl {
  private readonly refusedBy: Record<AdmissionRefusal, number> = { 'event-loop-delay': 0, 'invites-in-flight': 0, 'media-ports': 0, throttle: 0 };
  private readonly sampleMs: number;
  private histogram: IntervalHistogram | undefined;
  private timer: NodeJS.Timeout | undefined;
  private loopDelayMs = 0;
  private previousWindowMs = 0;
  private lastElu: EventLoopUtilization | undefined;
  private utilization = 0;
  /** The last SUSTAIN_WINDOWS windows' utilization (a ring). */
  private readonly recent: number[] = new Array<number>(SUSTAIN_WINDOWS).fill(0);
  private recentAt = 0;
  private admitShare = 1;
  /** Admission credit: each INVITE adds admitShare, an admitted one spends 1. */
  private credit = 0;

  constructor(
    readonly limits: Readonly<AdmissionLimits>,
    private readonly sources: AdmissionSources,
    opts: AdmissionOptions = {},
  ) {
    this.sampleMs = opts.sampleMs ?? 100;
  }

  /** Start sampling the event loop's delay and utilization. Idempotent. */
  start(): void {
    if (this.timer !== undefined || (this.limits.maxEventLoopDelayMs <= 0 && this.limits.targetEventLoopUtilization <= 0)) return;
    if (this.limits.maxEventLoopDelayMs > 0) {
      // Resolution 10 ms: finer costs timer wake-ups, and the limits worth setting are tens of ms.
      this.histogram = monitorEventLoopDelay({ resolution: 10 });
      this.histogram.enable();
    }
    this.lastElu = performance.eventLoopUtilization();
    this.timer = setInterval(() => this.sample(), this.sampleMs);
    this.timer.unref();
  }

  /** Record one window's delay and utilization (the timer calls this; tests may too). */
  sample(): void {
    const h = this.histogram;
    let windowMs = 0;
    if (h !== undefined) {
      // The histogram counts the sampling timer's lateness in ns; with no sample yet it reports NaN or 0.
      const p99 = h.count > 0 ? h.percentile(99) / 1e6 : 0;
      windowMs = Number.isFinite(p99) ? Math.max(0, p99 - 10) : 0; // minus the resolution: an idle loop reads ~10 ms late
      h.reset();
    }
    let utilization = 0;
    if (this.lastElu !== undefined) {
      const now = performance.eventLoopUtilization();
      utilization = performance.eventLoopUtilization(now, this.lastElu).utilization;
      this.lastElu = now;
    }
    this.applyWindow(windowMs, utilization);
  }

  /** The decision's update for one window's measurements (pure: unit tests call it directly). */
  applyWindow(delayMs: number, utilization: number): void {
    // Sustained, not a spike: both of the last two windows must be late.
    this.loopDelayMs = Math.min(delayMs, this.previousWindowMs);
    this.previousWindowMs = delayMs;
    // The throttle acts on what SUSTAIN_WINDOWS windows in a row show: a GC pause, a burst of
    // arrivals or a moment without CPU on a shared machine (busy for 100-300 ms at 65 % average
    // load, measured at 1200 calls/s) is not overload; half a second of it is.
    this.recent[this.recentAt] = utilization;
    this.recentAt = (this.recentAt + 1) % SUSTAIN_WINDOWS;
    const sustained = Math.min(...this.recent);
    this.utilization = utilization;
    const target = this.limits.targetEventLoopUtilization;
    if (target <= 0) return;
    if (sustained > target) this.admitShare = Math.max(MIN_ADMIT_SHARE, this.admitShare * (1 - DECREASE));
    else if (utilization <= target) this.admitShare = Math.min(1, this.admitShare + (utilization <= target - 0.1 ? FAST_INCREASE : SLOW_INCREASE));
    if (this.admitShare >= 1) this.credit = 0;
  }

  /** Set the measured delay directly (unit tests of the decision). */
  setEventLoopDelayForTest(ms: number): void {
    this.loopDelayMs = ms;
  }

  /** Undefined when the new call is admitted; else why not (and the refusal is counted). */
  check(): AdmissionRefusal | undefined {
    const l = this.limits;
    let refusal: AdmissionRefusal | undefined;
    if (l.maxInvitesInFlight > 0 && this.sources.invitesInFlight() >= l.maxInvitesInFlight) refusal = 'invites-in-flight';
    else if (l.maxEventLoopDelayMs > 0 && this.loopDelayMs > l.maxEventLoopDelayMs) refusal = 'event-loop-delay';
    else if (l.minFreeMediaPorts > 0) {
      const free = this.sources.freeMediaPorts();
      if (free !== undefined && free < l.minFreeMediaPorts) refusal = 'media-ports';
    }
    if (refusal === undefined && this.admitShare < 1) {
      this.credit += this.admitShare;
      if (this.credit >= 1) this.credit -= 1;
      else refusal = 'throttle';
    }
    if (refusal !== undefined) this.refusedBy[refusal]++;
    return refusal;
  }

  stats(): AdmissionStats {
    return {
      limits: { ...this.limits },
      eventLoopDelayMs: Math.round(this.loopDelayMs * 10) / 10,
      invitesInFlight: this.sources.invitesInFlight(),
      freeMediaPorts: this.sources.freeMediaPorts(),
      eventLoopUtilization: Math.round(this.utilization * 1000) / 1000,
      admitShare: Math.round(this.admitShare * 1000) / 1000,
      refused: { ...this.refusedBy },
    };
  }

  /** Stop sampling. Idempotent. */
  close(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.histogram?.disable();
    this.histogram = undefined;
  }
}
