/**
 * A small typed event emitter whose `emit` never throws: a listener that
 * throws is reported to `onListenerError` and the other listeners still run.
 * Events are typed as tuples: `SafeEmitter<{ health: [HealthChange] }>`.
 */
type AnyListener = (...args: never[]) => void;

export class SafeEmitter<Events extends { [K in keyof Events]: unknown[] }> {
  private readonly listeners = new Map<keyof Events, Set<AnyListener>>();

  constructor(private readonly onListenerError: (error: unknown, event: keyof Events) => void = () => undefined) {}

  /** Subscribe; returns a function that unsubscribes. */
  on<K extends keyof Events>(event: K, listener: (...args: Events[K]) => void): () => void {
    let set = this.listeners.get(event);
    if (set === undefined) {
      set = new Set();
      this.listeners.set(event, set);
    }
    set.add(listener as unknown as AnyListener);
    return () => this.off(event, listener);
  }

  off<K extends keyof Events>(event: K, listener: (...args: Events[K]) => void): void {
    this.listeners.get(event)?.delete(listener as unknown as AnyListener);
  }

  emit<K extends keyof Events>(event: K, ...args: Events[K]): void {
    const set = this.listeners.get(event);
    if (set === undefined) return;
    // Copy: a listener may unsubscribe itself while we iterate.
    for (const listener of [...set]) {
      try {
        (listener as unknown as (...a: Events[K]) => void)(...args);
      } catch (e) {
        try {
          this.onListenerError(e, event);
        } catch {
          // The error reporter itself failed; nothing sensible is left to do.
        }
      }
    }
  }

  removeAllListeners(): void {
    this.listeners.clear();
  }

  listenerCount<K extends keyof Events>(event: K): number {
    return this.listeners.get(event)?.size ?? 0;
  }
}
