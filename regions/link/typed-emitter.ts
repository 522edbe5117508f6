/**
 * A small typed event emitter. Events are tuples (`{ connected: [peer: LinkHello] }`).
 * A listener that throws cannot break the emitter or the other listeners: the
 * error is reported to `onListenerError` (default: a process warning) and
 * emission continues — a bug in a metrics hook must not tear down a link.
 */
export type EventMap = Record<string, unknown[]>;
type Listener<A extends unknown[]> = (...args: A) => void;
// Stored untyped; on()/emit() keep the per-event types at the edges.
type AnyListener = (...args: unknown[]) => void;

export class TypedEmitter<E extends EventMap> {
  private readonly listeners = new Map<keyof E, Set<AnyListener>>();
  /** Where listener exceptions go. */
  onListenerError: (error: unknown, event: string) => void = (error, event) => {
    process.emitWarning(`listener for "${event}" threw: ${error instanceof Error ? error.message : String(error)}`, 'ListenerError');
  };

  on<K extends keyof E>(event: K, fn: Listener<E[K]>): this {
    let set = this.listeners.get(event);
    if (set === undefined) this.listeners.set(event, (set = new Set()));
    set.add(fn as AnyListener);
    return this;
  }

  off<K extends keyof E>(event: K, fn: Listener<E[K]>): this {
    this.listeners.get(event)?.delete(fn as AnyListener);
    return this;
  }

  once<K extends keyof E>(event: K, fn: Listener<E[K]>): this {
    const wrapper = ((...args: E[K]) => {
      this.off(event, wrapper);
      fn(...args);
    }) as Listener<E[K]>;
    return this.on(event, wrapper);
  }

  protected emit<K extends keyof E>(event: K, ...args: E[K]): void {
    const set = this.listeners.get(event);
    if (set === undefined) return;
    for (const fn of [...set]) {
      try {
        fn(...args);
      } catch (e) {
        try {
          this.onListenerError(e, String(event));
        } catch {
          // The error reporter itself failed; nothing safer left to do.
        }
      }
    }
  }

  protected removeAllListeners(): void {
    this.listeners.clear();
  }
}
