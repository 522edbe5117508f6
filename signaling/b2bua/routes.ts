/**
 * Static routes from configuration: dialed-number prefix → SIP destination.
 * Longest prefix wins; an empty prefix is a catch-all. The control plane
 * replaces this table once it owns numbers.
 */
export interface Route {
  readonly prefix: string;
  readonly destination: string;
}

export class RouteTable {
  /** Sorted by prefix length, longest first. */
  private readonly routes: Route[];

  constructor(routes: readonly Route[]) {
    this.routes = [...routes].sort((a, b) => b.prefix.length - a.prefix.length);
  }

  /** The route for a dialed number (Request-URI user part), or undefined. */
  lookup(dialed: string): Route | undefined {
    for (const r of this.routes) if (dialed.startsWith(r.prefix)) return r;
    return undefined;
  }

  get size(): number {
    return this.routes.length;
  }
}
