/**
 * The calls waiting in queues on this router, so that a `Dial` → `Queue` on
 * another call of the same router can find the call it took from the front
 * of the queue (queue order itself lives in `CallQueues`, i.e. Redis) and
 * hand its leg over for the bridge.
 *
 * The handoff between the two runners is three one-shot steps:
 *   dequeuer → `claimed`  (the member stops its wait application),
 *   member   → `ready`    (after its announcement: its leg, or undefined if it is gone),
 *   dequeuer → `released` (the bridge ended, or never happened).
 */
import type { HttpMethod } from '../twiml-types.js';
import type { CallLeg } from '../leg.js';
import { deferred, type Deferred } from './abort.js';

export interface DequeueClaim {
  dequeuerCallSid: string;
  /** `<Queue url>`: a document run on the member's leg before the bridge. */
  announce: { url: string; method: HttpMethod } | undefined;
  waitedMs: number;
}

export interface BridgeRelease {
  bridged: boolean;
  durationMs: number;
}

export class QueueMember {
  state: 'waiting' | 'claimed' | 'gone' = 'waiting';
  /** When a dequeuer took it (its time in the queue ends there). */
  claimedAt: number | undefined;
  readonly claimed: Deferred<DequeueClaim> = deferred();
  readonly ready: Deferred<CallLeg | undefined> = deferred();
  readonly released: Deferred<BridgeRelease> = deferred();

  constructor(
    readonly callSid: string,
    readonly accountSid: string,
    readonly queueName: string,
    readonly queueSid: string,
    readonly enqueuedAt: number,
    readonly leg: CallLeg,
    /** The member's Enqueue step signal: aborts when it hangs up or is redirected. */
    readonly signal: AbortSignal,
  ) {}

  /** Milliseconds in the queue: until taken, or until now. */
  queuedMs(now = Date.now()): number {
    return (this.claimedAt ?? now) - this.enqueuedAt;
  }

  /** Take the member for a bridge; false when it is no longer waiting here. */
  claim(c: DequeueClaim): boolean {
    if (this.state !== 'waiting' || this.signal.aborted) return false;
    this.state = 'claimed';
    this.claimedAt = Date.now();
    this.claimed.resolve(c);
    return true;
  }
}

/** Samples kept per queue for AvgQueueTime. */
const AVG_SAMPLES = 50;

export class QueueRegistry {
  private readonly members = new Map<string, QueueMember>();
  private readonly watchers = new Map<string, Set<() => void>>();
  private readonly waits = new Map<string, number[]>();

  get size(): number {
    return this.members.size;
  }

  get(callSid: string): QueueMember | undefined {
    return this.members.get(callSid);
  }

  add(m: QueueMember): void {
    this.members.set(m.callSid, m);
    const w = this.watchers.get(key(m.accountSid, m.queueName));
    if (w !== undefined) for (const wake of [...w]) wake();
  }

  remove(m: QueueMember): void {
    if (this.members.get(m.callSid) === m) this.members.delete(m.callSid);
  }

  /** Resolve after `ms`, when a call joins the queue on this router, or when `signal` aborts. */
  waitForMember(accountSid: string, queueName: string, ms: number, signal: AbortSignal): Promise<void> {
    const k = key(accountSid, queueName);
    return new Promise((resolve) => {
      let set = this.watchers.get(k);
      if (set === undefined) {
        set = new Set();
        this.watchers.set(k, set);
      }
      const s = set;
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        s.delete(done);
        if (s.size === 0 && this.watchers.get(k) === s) this.watchers.delete(k);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      s.add(done);
      if (signal.aborted) done();
      else signal.addEventListener('abort', done, { once: true });
    });
  }

  recordWait(accountSid: string, queueName: string, ms: number): void {
    const k = key(accountSid, queueName);
    const list = this.waits.get(k) ?? [];
    list.push(ms);
    if (list.length > AVG_SAMPLES) list.shift();
    this.waits.set(k, list);
    // Bounded: forget queues beyond a generous number (oldest first, Map order).
    if (this.waits.size > 10_000) {
      const oldest = this.waits.keys().next().value;
      if (oldest !== undefined) this.waits.delete(oldest);
    }
  }

  /** Average wait in whole seconds of the last calls that left this queue here (0 when none). */
  averageWaitSeconds(accountSid: string, queueName: string): number {
    const list = this.waits.get(key(accountSid, queueName));
    if (list === undefined || list.length === 0) return 0;
    return Math.round(list.reduce((a, b) => a + b, 0) / list.length / 1000);
  }
}

function key(accountSid: string, queueName: string): string {
  return `${accountSid}\u0000${queueName}`;
}
