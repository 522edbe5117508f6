/**
 * Price resolution over a chain of decks: the account's own (sparse), its
 * parent's (sparse), the platform's (complete).
 *
 * The rule: among the entries of all three decks that match, the most
 * specific wins — the longest destination prefix, then (at the same
 * destination prefix) the longest origination prefix, an entry without one
 * counting as length 0 — and only between equally specific entries does the
 * nearer deck win (account, then parent, then platform). So an override of a
 * shorter prefix in a child does not hide a longer prefix of the parent or the
 * platform; an override of the same or a longer prefix does. An entry with an
 * origination prefix matches only calls from a number under it; when the
 * origination is unknown, only entries without one match.
 *
 * Every answer names the deck (and, for account decks, the account) and the
 * entry that decided it.
 */
import { MeshError } from '../core/errors.js';
import { isPrefixed, MAX_PREFIX_DIGITS, type DeckEntry, type PriceItem } from './deck.js';
import { parsePrice } from './money.js';

export type DeckLevel = 'account' | 'parent' | 'platform';

interface IndexedEntry {
  entry: DeckEntry;
  micros: number;
}

/** One deck's entries, indexed for longest-prefix lookups: item|prefix → entries (by origination prefix). */
export class DeckIndex {
  private readonly byKey = new Map<string, IndexedEntry[]>();
  readonly size: number;

  constructor(readonly entries: readonly DeckEntry[]) {
    for (const entry of entries) {
      const key = `${entry.item}|${entry.prefix ?? ''}`;
      const list = this.byKey.get(key) ?? [];
      list.push({ entry, micros: parsePrice(entry.price, 'price') });
      // Longest origination prefix first; the unrestricted entry (none) last.
      list.sort((a, b) => (b.entry.originationPrefix?.length ?? 0) - (a.entry.originationPrefix?.length ?? 0));
      this.byKey.set(key, list);
    }
    this.size = entries.length;
  }

  /** The most specific matching entry of this deck, with its destination and origination prefix lengths. */
  best(item: PriceItem, destination: string, origination: string | undefined): { hit: IndexedEntry; destLen: number; origLen: number } | undefined {
    const top = isPrefixed(item) ? Math.min(destination.length, MAX_PREFIX_DIGITS + 1) : 0;
    for (let len = top; len >= (isPrefixed(item) ? 2 : 0); len--) {
      const list = this.byKey.get(`${item}|${destination.slice(0, len)}`);
      if (list === undefined) continue;
      for (const hit of list) {
        const o = hit.entry.originationPrefix;
        if (o === undefined) return { hit, destLen: len, origLen: 0 };
        if (origination !== undefined && origination.startsWith(o)) return { hit, destLen: len, origLen: o.length };
      }
    }
    return undefined;
  }
}

export interface DeckRef {
  level: DeckLevel;
  /** The account whose deck it is (account and parent levels). */
  accountSid?: string;
  index: DeckIndex;
}

export interface PriceQuery {
  item: PriceItem;
  /** The dialed number (voice-outbound) or the called number (voice-inbound-*); ignored for the other items. */
  destination?: string;
  /** The caller's number, for origination-restricted entries. */
  origination?: string;
}

export interface PriceDecision {
  item: PriceItem;
  priceMicros: number;
  /** The entry's price as the deck says it. */
  price: string;
  /** Which deck decided: the account's own, its parent's, or the platform's. */
  deck: DeckLevel;
  accountSid?: string;
  /** The deciding entry. */
  entry: { sid?: string; prefix?: string; originationPrefix?: string; friendlyName?: string };
}

/**
 * Resolves `q` over `chain` (nearest deck first). Throws NOT_FOUND when no deck has a
 * matching entry — never a price of zero.
 */
export function resolvePrice(chain: readonly DeckRef[], q: PriceQuery): PriceDecision {
  const destination = q.destination ?? '';
  let winner: { ref: DeckRef; hit: IndexedEntry; destLen: number; origLen: number } | undefined;
  for (const ref of chain) {
    const found = ref.index.best(q.item, destination, q.origination);
    if (found === undefined) continue;
    // Strictly more specific replaces: at equal specificity the nearer deck (seen first) stays.
    if (winner === undefined || found.destLen > winner.destLen || (found.destLen === winner.destLen && found.origLen > winner.origLen)) {
      winner = { ref, ...found };
    }
  }
  if (winner === undefined) {
    const what = isPrefixed(q.item) ? `${q.item} to ${destination || '(no number)'}${q.origination === undefined ? '' : ` from ${q.origination}`}` : q.item;
    throw new MeshError('NOT_FOUND', `no price for ${what}: no entry of the ${chain.map((r) => r.level).join(', ')} deck${chain.length > 1 ? 's' : ''} matches`);
  }
  const e = winner.hit.entry;
  return {
    item: q.item,
    priceMicros: winner.hit.micros,
    price: e.price,
    deck: winner.ref.level,
    ...(winner.ref.accountSid === undefined ? {} : { accountSid: winner.ref.accountSid }),
    entry: {
      ...(e.sid === undefined ? {} : { sid: e.sid }),
      ...(e.prefix === undefined ? {} : { prefix: e.prefix }),
      ...(e.originationPrefix === undefined ? {} : { originationPrefix: e.originationPrefix }),
      ...(e.friendlyName === undefined ? {} : { friendlyName: e.friendlyName }),
    },
  };
}
