/**
 * Bounds on redirect chains for one call. A *chain* is a run of documents
 * fetched one after another without any verb that takes time on the call
 * (Say, Play, Pause, Gather, Record, Dial, Enqueue) in between: a document
 * that only redirects. A wait-state application that plays music and then
 * redirects to itself makes progress on each pass and is not a loop; a
 * document that redirects straight back to itself is.
 */
import { MeshError } from '../../regions/core/errors.js';
import type { HttpMethod } from './twiml-types.js';

export interface RedirectGuardOptions {
  /** Redirects in one chain. Default 10. */
  maxChain?: number;
  /** Redirects over the whole call, progress or not. Default 1000. */
  maxTotal?: number;
}

export class RedirectGuard {
  private readonly maxChain: number;
  private readonly maxTotal: number;
  private chain: string[] = [];
  private total = 0;

  constructor(opts: RedirectGuardOptions = {}) {
    this.maxChain = opts.maxChain ?? 10;
    this.maxTotal = opts.maxTotal ?? 1000;
  }

  /** Redirects in the current chain. */
  get chainLength(): number {
    return this.chain.length;
  }

  get totalRedirects(): number {
    return this.total;
  }

  /**
   * Call before following a redirect (a Redirect verb, or an action URL
   * reached without progress). Throws LOOP_DETECTED when the chain already
   * visited this method + URL, TOO_MANY_HOPS when a bound is reached.
   */
  follow(url: string, method: HttpMethod): void {
    const key = `${method} ${normalize(url)}`;
    if (this.chain.includes(key)) {
      throw new MeshError('LOOP_DETECTED', `redirect loop: ${key} already visited in this chain`, {
        detail: { chain: [...this.chain, key] },
      });
    }
    if (this.chain.length >= this.maxChain) {
      throw new MeshError('TOO_MANY_HOPS', `more than ${this.maxChain} redirects without progress`, { detail: { chain: [...this.chain] } });
    }
    if (this.total >= this.maxTotal) {
      throw new MeshError('TOO_MANY_HOPS', `more than ${this.maxTotal} redirects in one call`);
    }
    this.chain.push(key);
    this.total += 1;
  }

  /** A verb that takes time on the call ran: the chain starts over. */
  noteProgress(): void {
    this.chain = [];
  }
}

function normalize(url: string): string {
  try {
    const u = new URL(url);
    u.hash = '';
    return u.href;
  } catch {
    return url;
  }
}
