/**
 * The last known healthy instances of one discovery query, kept current by
 * the adapter's watch (pub/sub on Redis, blocking queries on Consul) rather
 * than by polling from here. While discovery is unreachable the view keeps
 * what it last saw, so the process goes on serving with it.
 */
import type { Discovery, DiscoveryChange, DiscoveryQuery, ServiceInstance, Unwatch } from './types.js';

export type DiscoveryViewListener = (change: DiscoveryChange) => void;

export class DiscoveryView {
  private current: readonly ServiceInstance[] = [];
  private byId = new Map<string, ServiceInstance>();
  private unwatch: Unwatch | undefined;
  private readonly listeners = new Set<DiscoveryViewListener>();
  private snapshotAt: number | undefined;
  private closed = false;

  constructor(
    private readonly discovery: Discovery,
    readonly query: DiscoveryQuery,
    private readonly onListenerError: (e: unknown) => void = () => {},
  ) {}

  /** Start watching. Idempotent. */
  start(): this {
    if (this.unwatch !== undefined || this.closed) return this;
    this.unwatch = this.discovery.watch(this.query, (change) => this.apply(change));
    return this;
  }

  /** Healthy instances as last seen, sorted by id. Empty until the first snapshot. */
  instances(): readonly ServiceInstance[] {
    return this.current;
  }

  get(id: string): ServiceInstance | undefined {
    return this.byId.get(id);
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  /** When the last change arrived (ms since the epoch); undefined before the first snapshot. */
  get updatedAt(): number | undefined {
    return this.snapshotAt;
  }

  /** Called on every change after the current set is updated; a throwing listener is reported, never rethrown. */
  on(listener: DiscoveryViewListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Stop watching; keeps the last set readable. Idempotent. */
  close(): void {
    this.closed = true;
    this.unwatch?.();
    this.unwatch = undefined;
    this.listeners.clear();
  }

  /** Exposed for unit tests of consumers; the watch calls it. */
  apply(change: DiscoveryChange): void {
    if (this.closed) return;
    this.current = Object.freeze([...change.instances]);
    this.byId = new Map(change.instances.map((i) => [i.id, i]));
    this.snapshotAt = Date.now();
    for (const l of [...this.listeners]) {
      try {
        l(change);
      } catch (e) {
        this.onListenerError(e);
      }
    }
  }
}
