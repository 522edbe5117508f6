/**
 * Abort plumbing for the verb executor. Every wait the router does on a call
 * (a pause, a digit timeout, a fetch, a bridge) must end at once when the leg
 * hangs up, when an API redirect arrives, or when the router closes; so every
 * wait takes an AbortSignal, and a step's signal is linked to the call's.
 */

/** Why a step was aborted (the `reason` given to AbortController.abort). */
export type AbortReason = 'ended' | 'redirect' | 'closed' | 'claimed' | 'digit' | 'done';

export function reasonOf(signal: AbortSignal): AbortReason | undefined {
  if (!signal.aborted) return undefined;
  const r: unknown = signal.reason;
  return typeof r === 'string' ? (r as AbortReason) : 'ended';
}

/** Thrown by `abortable` when the signal aborts first. */
export class StepAborted extends Error {
  constructor(readonly reason: AbortReason | undefined) {
    super(`step aborted (${reason ?? 'unknown'})`);
    this.name = 'StepAborted';
  }
}

export function isStepAborted(e: unknown): e is StepAborted {
  return e instanceof StepAborted;
}

/**
 * A controller that aborts when any parent aborts (with the parent's reason).
 * `dispose()` removes the listeners from the parents, so a long-lived call
 * signal does not collect one listener per verb.
 */
export interface Linked {
  readonly controller: AbortController;
  readonly signal: AbortSignal;
  abort(reason: AbortReason): void;
  dispose(): void;
}

export function linkSignals(...parents: AbortSignal[]): Linked {
  const controller = new AbortController();
  const undo: (() => void)[] = [];
  for (const p of parents) {
    if (p.aborted) {
      controller.abort(p.reason);
      break;
    }
    const on = (): void => controller.abort(p.reason);
    p.addEventListener('abort', on, { once: true });
    undo.push(() => p.removeEventListener('abort', on));
  }
  const dispose = (): void => {
    for (const u of undo.splice(0)) u();
  };
  if (controller.signal.aborted) dispose();
  else controller.signal.addEventListener('abort', dispose, { once: true });
  return {
    controller,
    signal: controller.signal,
    abort: (reason) => {
      if (!controller.signal.aborted) controller.abort(reason);
    },
    dispose,
  };
}

/** Resolve after `ms`, or at once (resolving, not rejecting) when `signal` aborts. Returns true when the full time passed. */
export function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  if (ms <= 0) return Promise.resolve(true);
  return new Promise((resolve) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Resolve when `signal` aborts. */
export function whenAborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}

/**
 * Race `p` against `signal`: rejects with StepAborted when the signal aborts
 * first. `p` keeps running (it cannot be cancelled) and its eventual
 * rejection is swallowed, so no promise is left unhandled.
 */
export function abortable<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    p.catch(() => {});
    return Promise.reject(new StepAborted(reasonOf(signal)));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      p.catch(() => {});
      reject(new StepAborted(reasonOf(signal)));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

/** A promise with its resolve function outside (one-shot handoffs between two calls' runners). */
export interface Deferred<T> {
  promise: Promise<T>;
  resolve(v: T): void;
  readonly settled: boolean;
}

export function deferred<T>(): Deferred<T> {
  let resolveFn!: (v: T) => void;
  let settled = false;
  const promise = new Promise<T>((r) => {
    resolveFn = r;
  });
  return {
    promise,
    resolve: (v) => {
      if (settled) return;
      settled = true;
      resolveFn(v);
    },
    get settled() {
      return settled;
    },
  };
}
