/**
 * The launcher's supervisor (DESIGN.md "Failure is normal": one process dying
 * never stops another). Each supervised child is started through `start()`;
 * when it exits on its own, the exit is reported and the child is started
 * again after a backoff delay, while every other child keeps running. Only
 * `halt()` (Ctrl-C) stops restarting.
 *
 * Backoff: the first restart waits `initialMs`, each following one twice as
 * long up to `maxMs`; a child that stayed up for `resetAfterMs` starts over
 * at `initialMs` the next time it dies. A start that fails (the child exits
 * before it is ready, or is not ready in time) counts as a death with no
 * time up.
 */
import type { ManagedProcess } from './process.js';

export interface BackoffPolicy {
  /** Delay before the first restart, ms. Default 500. */
  initialMs: number;
  /** Longest delay, ms. Default 10 000. */
  maxMs: number;
  /** Up this long, the next death restarts after `initialMs` again, ms. Default 60 000. */
  resetAfterMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 500, maxMs: 10_000, resetAfterMs: 60_000 };

/** Restart delays of one child: 0.5 s, 1 s, 2 s, … 10 s; back to 0.5 s after a long enough run. */
export class RestartBackoff {
  private nextMs: number;

  constructor(private readonly policy: BackoffPolicy = DEFAULT_BACKOFF) {
    if (!(policy.initialMs > 0 && policy.maxMs >= policy.initialMs && policy.resetAfterMs > 0)) {
      throw new RangeError(`backoff: need 0 < initialMs ≤ maxMs and resetAfterMs > 0, got ${JSON.stringify(policy)}`);
    }
    this.nextMs = policy.initialMs;
  }

  /** The delay before restarting a child that died after `upMs` of running. */
  next(upMs: number): number {
    if (upMs >= this.policy.resetAfterMs) this.nextMs = this.policy.initialMs;
    const delay = this.nextMs;
    this.nextMs = Math.min(this.policy.maxMs, this.nextMs * 2);
    return delay;
  }
}

/** What the supervisor needs of a child: `ManagedProcess` is one. */
export type SupervisedChild = Pick<ManagedProcess, 'pid' | 'exited' | 'stop'>;

export interface SupervisedSpec<C extends SupervisedChild = SupervisedChild> {
  /** Unique name, used in reports and in `pids()`. */
  name: string;
  /** Start one instance and resolve once it is ready. `restart` is 0 for the first start, then 1, 2, … */
  start: (restart: number) => Promise<C>;
  /** This child's backoff, over the supervisor's. */
  backoff?: Partial<BackoffPolicy>;
}

export type SupervisorEvent =
  | { type: 'exited'; name: string; pid: number; code: number | null; upMs: number; restartInMs: number }
  | { type: 'restarted'; name: string; pid: number; restarts: number }
  | { type: 'restart-failed'; name: string; error: Error; restartInMs: number };

export interface SupervisorOptions {
  backoff?: Partial<BackoffPolicy>;
  /** Every exit, restart and failed restart; default: ignored. */
  onEvent?: (event: SupervisorEvent) => void;
  /** Clock (tests). Default Date.now. */
  now?: () => number;
}

interface Entry<C extends SupervisedChild> {
  spec: SupervisedSpec<C>;
  child: C | undefined;
  startedAt: number;
  restarts: number;
  backoff: RestartBackoff;
  timer: NodeJS.Timeout | undefined;
}

export class Supervisor<C extends SupervisedChild = SupervisedChild> {
  private readonly entries = new Map<string, Entry<C>>();
  private readonly policy: BackoffPolicy;
  private readonly now: () => number;
  private halted = false;

  constructor(private readonly opts: SupervisorOptions = {}) {
    this.policy = { ...DEFAULT_BACKOFF, ...(opts.backoff ?? {}) };
    new RestartBackoff(this.policy); // validates the policy now, not at the first death
    this.now = opts.now ?? Date.now;
  }

  /** First start of a child; rejects (and supervises nothing) when that start fails. */
  async add(spec: SupervisedSpec<C>): Promise<C> {
    if (this.entries.has(spec.name)) throw new Error(`supervisor: ${spec.name} is already supervised`);
    if (this.halted) throw new Error('supervisor: halted');
    new RestartBackoff({ ...this.policy, ...(spec.backoff ?? {}) }); // a bad policy fails before the child starts
    const child = await spec.start(0);
    const entry: Entry<C> = { spec, child, startedAt: this.now(), restarts: 0, backoff: new RestartBackoff({ ...this.policy, ...(spec.backoff ?? {}) }), timer: undefined };
    this.entries.set(spec.name, entry);
    if (this.halted) await child.stop();
    else this.watch(entry, child);
    return child;
  }

  /** Names in the order they were added. */
  names(): string[] {
    return [...this.entries.keys()];
  }

  /** The running instance of `name`, undefined while it is dead or being restarted. */
  current(name: string): C | undefined {
    return this.entries.get(name)?.child;
  }

  /** How many times `name` was restarted. */
  restarts(name: string): number {
    return this.entries.get(name)?.restarts ?? 0;
  }

  /** The pid of every running child, by name. */
  pids(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [name, e] of this.entries) if (e.child !== undefined) out[name] = e.child.pid;
    return out;
  }

  /** Stop restarting anything (pending restarts are cancelled); running children keep running until stopped. Idempotent. */
  halt(): void {
    this.halted = true;
    for (const e of this.entries.values()) {
      clearTimeout(e.timer);
      e.timer = undefined;
    }
  }

  /** Stop one child for good (after `halt()`, or it would only be restarted). */
  async stop(name: string, timeoutMs?: number): Promise<void> {
    const e = this.entries.get(name);
    if (e === undefined) return;
    clearTimeout(e.timer);
    e.timer = undefined;
    await e.child?.stop(timeoutMs);
  }

  private watch(entry: Entry<C>, child: C): void {
    void child.exited.then((code) => {
      if (entry.child !== child) return;
      entry.child = undefined;
      if (this.halted) return;
      const upMs = this.now() - entry.startedAt;
      const restartInMs = entry.backoff.next(upMs);
      this.opts.onEvent?.({ type: 'exited', name: entry.spec.name, pid: child.pid, code, upMs, restartInMs });
      this.schedule(entry, restartInMs);
    });
  }

  private schedule(entry: Entry<C>, delayMs: number): void {
    entry.timer = setTimeout(() => {
      entry.timer = undefined;
      void this.restart(entry);
    }, delayMs);
  }

  private async restart(entry: Entry<C>): Promise<void> {
    if (this.halted) return;
    const n = entry.restarts + 1;
    let child: C;
    try {
      child = await entry.spec.start(n);
    } catch (e) {
      if (this.halted) return;
      const restartInMs = entry.backoff.next(0);
      this.opts.onEvent?.({ type: 'restart-failed', name: entry.spec.name, error: e as Error, restartInMs });
      this.schedule(entry, restartInMs);
      return;
    }
    entry.restarts = n;
    if (this.halted) {
      // Ctrl-C came while it was starting: it goes with the rest.
      await child.stop();
      return;
    }
    entry.child = child;
    entry.startedAt = this.now();
    this.opts.onEvent?.({ type: 'restarted', name: entry.spec.name, pid: child.pid, restarts: n });
    this.watch(entry, child);
  }
}
