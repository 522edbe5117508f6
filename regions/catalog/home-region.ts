/**
 * Number → tenant → home region, from configuration until the control plane
 * owns numbers (issue 4). Prefix-matched, longest prefix wins, so `+1555` can
 * send most of a range to one tenant and `+15550100` carve one number out.
 */
import type { RegionId } from '../core/ids.js';
import type { HomeRegionRuleSpec } from './schema.js';

export interface HomeRegionMatch {
  /** The rule's prefix that matched. */
  readonly prefix: string;
  /** Account sid of the tenant owning the number. */
  readonly tenant: string;
  readonly homeRegion: RegionId;
}

/** Longest dialed number we look at (E.164 is at most 15 digits; slack for a `+` and separators). */
const MAX_NUMBER_LENGTH = 64;

/**
 * Drop RFC 3966 §3 visual separators (`-`, `.`, `(`, `)`) and spaces so
 * `+1 (555) 010-0000` matches `+1555`. Anything else is kept and simply
 * fails to match a digits-only prefix.
 */
export function normaliseNumber(number: string): string {
  return number.replace(/[\s().-]/g, '');
}

/**
 * Longest-prefix rules over dialed numbers, the one matcher of number → rule:
 * separators are dropped first and over-long input matches nothing. Used by
 * the catalog's home rules and by a node's static `mesh.homeRules`.
 */
export class NumberPrefixRules<R extends { readonly prefix: string }> {
  /** Rules sorted longest prefix first, so the first match is the longest. */
  readonly #rules: readonly R[];

  constructor(rules: Iterable<R>) {
    this.#rules = [...rules].sort((a, b) => b.prefix.length - a.prefix.length || (a.prefix < b.prefix ? -1 : 1));
  }

  /** The rule for a dialed number (Request-URI user part or E.164), or undefined when none matches. */
  lookup(number: string): R | undefined {
    if (number.length === 0 || number.length > MAX_NUMBER_LENGTH) return undefined;
    const n = normaliseNumber(number);
    return this.#rules.find((r) => n.startsWith(r.prefix));
  }

  /** Every rule, longest prefix first. */
  list(): readonly R[] {
    return this.#rules;
  }
}

export class HomeRegionRules {
  readonly #rules: NumberPrefixRules<HomeRegionMatch>;

  constructor(numbers: Readonly<Record<string, HomeRegionRuleSpec>>) {
    this.#rules = new NumberPrefixRules(Object.entries(numbers).map(([prefix, r]) => ({ prefix, tenant: r.tenant, homeRegion: r.homeRegion as RegionId })));
  }

  /** The rule for a dialed number (Request-URI user part or E.164), or undefined when none matches. */
  lookup(number: string): HomeRegionMatch | undefined {
    return this.#rules.lookup(number);
  }

  /** Home region of the number's tenant, or undefined. */
  homeRegionOf(number: string): RegionId | undefined {
    return this.lookup(number)?.homeRegion;
  }

  /** Every rule, longest prefix first. */
  list(): readonly HomeRegionMatch[] {
    return this.#rules.list();
  }

  get size(): number {
    return this.#rules.list().length;
  }
}
