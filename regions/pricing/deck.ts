/**
 * Price decks: what a billable item costs. The platform deck is complete (every
 * country it lists has an outbound and a local inbound price for each of its
 * prefixes, and the per-minute prices of recordings and media branches and the
 * per-call price of API-originated calls exist); account decks are sparse
 * overrides holding only the entries that differ. One schema validates both
 * (the configuration file, the operator API and the tenant API's
 * PriceOverrides), so a bad entry is refused with the field it names.
 */
import { z } from 'zod';
import { MeshError } from '../core/errors.js';
import { PRICE_PATTERN } from './money.js';

/**
 * Billable items. `voice-outbound` is priced by destination prefix (optionally only from
 * origination prefixes); `voice-inbound-*` by the prefix of the called number, per number
 * type; the others have no prefix.
 */
export const PRICE_ITEMS = [
  'voice-outbound',
  'voice-inbound-local',
  'voice-inbound-mobile',
  'voice-inbound-toll-free',
  'recording',
  'media-branch',
  'api-call',
] as const;
export type PriceItem = (typeof PRICE_ITEMS)[number];

/** Items priced by prefix; the rest take no `prefix` (their one entry applies to everything). */
export function isPrefixed(item: PriceItem): boolean {
  return item.startsWith('voice-');
}

/** Items that are a price per started minute (`api-call` is per call). */
export function isPerMinute(item: PriceItem): boolean {
  return item !== 'api-call';
}

export type NumberType = 'local' | 'mobile' | 'toll free';
export const INBOUND_ITEM: Record<NumberType, PriceItem> = {
  local: 'voice-inbound-local',
  mobile: 'voice-inbound-mobile',
  'toll free': 'voice-inbound-toll-free',
};

// Limits: every deck is bounded, and so is every string in it.
/** Longest prefix: `+` and the 15 digits of the longest E.164 number. */
export const MAX_PREFIX_DIGITS = 15;
export const MAX_PLATFORM_ENTRIES = 100_000;
export const MAX_ACCOUNT_ENTRIES = 1000;
export const MAX_COUNTRIES = 300;
export const MAX_COUNTRY_PREFIXES = 64;

export const PREFIX_PATTERN = /^\+[0-9]{1,15}$/;
const prefixSchema = z.string().regex(PREFIX_PATTERN, `must be + and 1 to ${MAX_PREFIX_DIGITS} digits, such as +4420`);
const priceSchema = z.string().regex(PRICE_PATTERN, 'must be a decimal such as 0.0140 (at most 4 integer digits and 6 decimals)');

export const deckEntrySchema = z
  .object({
    item: z.enum(PRICE_ITEMS),
    /** Destination prefix (voice-outbound) or called-number prefix (voice-inbound-*); absent for the other items. */
    prefix: prefixSchema.optional(),
    /** voice-outbound only: the entry applies only to calls from numbers with this prefix. */
    originationPrefix: prefixSchema.optional(),
    price: priceSchema,
    friendlyName: z.string().max(64).optional(),
  })
  .strict()
  .superRefine((e, ctx) => {
    if (isPrefixed(e.item) && e.prefix === undefined) ctx.addIssue({ code: 'custom', path: ['prefix'], message: `required for ${e.item}` });
    if (!isPrefixed(e.item) && e.prefix !== undefined) ctx.addIssue({ code: 'custom', path: ['prefix'], message: `${e.item} has no prefix` });
    if (e.originationPrefix !== undefined && e.item !== 'voice-outbound') ctx.addIssue({ code: 'custom', path: ['originationPrefix'], message: 'only voice-outbound entries take an origination prefix' });
  });
export type DeckEntryInput = z.infer<typeof deckEntrySchema>;

/** A stored entry: what was given, plus the SID of an account deck's entry (PriceOverrides) and its dates. */
export interface DeckEntry extends DeckEntryInput {
  sid?: string;
  dateCreated?: string;
  dateUpdated?: string;
}

export const countrySchema = z
  .object({
    /** ISO 3166-1 alpha-2, upper case. */
    isoCountry: z.string().regex(/^[A-Z]{2}$/, 'must be two upper-case letters (ISO 3166-1 alpha-2)'),
    name: z.string().min(1).max(64),
    /** Country calling code(s) with +: numbers under them belong to the country. */
    prefixes: z.array(prefixSchema).min(1).max(MAX_COUNTRY_PREFIXES),
    /** Numbers under these are `mobile` for inbound prices (default: none). */
    mobilePrefixes: z.array(prefixSchema).max(MAX_COUNTRY_PREFIXES).default([]),
    /** Numbers under these are `toll free` (default: none); any other number is `local`. */
    tollFreePrefixes: z.array(prefixSchema).max(MAX_COUNTRY_PREFIXES).default([]),
  })
  .strict();
export type Country = z.infer<typeof countrySchema>;

export const platformDeckSchema = z
  .object({
    /** Currency of every price (ISO 4217). Default USD. */
    priceUnit: z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as USD').default('USD'),
    countries: z.array(countrySchema).min(1).max(MAX_COUNTRIES),
    entries: z.array(deckEntrySchema).min(1).max(MAX_PLATFORM_ENTRIES),
  })
  .strict();
export type PlatformDeck = z.infer<typeof platformDeckSchema>;

const entryKey = (e: DeckEntryInput): string => `${e.item}|${e.prefix ?? ''}|${e.originationPrefix ?? ''}`;

function invalid(field: string, message: string): MeshError {
  return new MeshError('BAD_REQUEST', `${field}: ${message}`, { detail: { field } });
}

/** The country a number (or prefix) belongs to: the one with the longest prefix it starts with. */
export function countryOf(countries: readonly Country[], number: string): Country | undefined {
  let best: Country | undefined;
  let bestLen = 0;
  for (const c of countries) {
    for (const p of c.prefixes) if (number.startsWith(p) && p.length > bestLen) [best, bestLen] = [c, p.length];
  }
  return best;
}

export function numberTypeOf(country: Country, number: string): NumberType {
  if (country.tollFreePrefixes.some((p) => number.startsWith(p))) return 'toll free';
  if (country.mobilePrefixes.some((p) => number.startsWith(p))) return 'mobile';
  return 'local';
}

/** Duplicate entries (same item, prefix and origination prefix) are refused, naming the second. */
export function checkUniqueEntries(entries: readonly DeckEntryInput[], field = 'entries'): void {
  const seen = new Set<string>();
  entries.forEach((e, i) => {
    const k = entryKey(e);
    if (seen.has(k)) throw invalid(`${field}[${i}]`, `duplicate of an earlier entry (${e.item} ${e.prefix ?? ''}${e.originationPrefix === undefined ? '' : ` from ${e.originationPrefix}`})`);
    seen.add(k);
  });
}

/**
 * Validates a platform deck: shape (zod), unique entries, prefixes inside a listed country,
 * and completeness — every country prefix has an unrestricted `voice-outbound` and a
 * `voice-inbound-local` entry, mobile/toll-free prefixes have their inbound entry (at the
 * prefix or shorter), and recording, media-branch and api-call are priced. Throws
 * BAD_REQUEST naming the field.
 */
export function parsePlatformDeck(raw: unknown): PlatformDeck {
  const parsed = platformDeckSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('') || 'deck';
    throw invalid(field, issue.message);
  }
  const deck = parsed.data;
  checkUniqueEntries(deck.entries);
  const isos = new Set<string>();
  deck.countries.forEach((c, i) => {
    if (isos.has(c.isoCountry)) throw invalid(`countries[${i}].isoCountry`, `${c.isoCountry} is listed twice`);
    isos.add(c.isoCountry);
  });
  deck.entries.forEach((e, i) => {
    if (e.prefix !== undefined && countryOf(deck.countries, e.prefix) === undefined) throw invalid(`entries[${i}].prefix`, `${e.prefix} is in no country of the deck`);
  });
  const has = (item: PriceItem, prefix: string | undefined): boolean =>
    deck.entries.some((e) => e.item === item && e.originationPrefix === undefined && (prefix === undefined ? true : e.prefix !== undefined && prefix.startsWith(e.prefix)));
  deck.countries.forEach((c, i) => {
    for (const p of c.prefixes) {
      if (!has('voice-outbound', p)) throw invalid(`countries[${i}]`, `${c.isoCountry} has no voice-outbound price for ${p} (without origination prefix): the platform deck must be complete`);
      if (!has('voice-inbound-local', p)) throw invalid(`countries[${i}]`, `${c.isoCountry} has no voice-inbound-local price for ${p}`);
    }
    for (const p of c.mobilePrefixes) if (!has('voice-inbound-mobile', p)) throw invalid(`countries[${i}].mobilePrefixes`, `no voice-inbound-mobile price covers ${p}`);
    for (const p of c.tollFreePrefixes) if (!has('voice-inbound-toll-free', p)) throw invalid(`countries[${i}].tollFreePrefixes`, `no voice-inbound-toll-free price covers ${p}`);
  });
  for (const item of ['recording', 'media-branch', 'api-call'] as const) {
    if (!has(item, undefined)) throw invalid('entries', `no ${item} price: the platform deck must be complete`);
  }
  return deck;
}

/** Validates one account-deck entry (operator API and PriceOverrides), naming the field under `field`. */
export function parseDeckEntry(raw: unknown, field = 'entry'): DeckEntryInput {
  const parsed = deckEntrySchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const sub = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`)).join('');
    throw invalid(`${field}${sub}`, issue.message);
  }
  return parsed.data;
}

export { entryKey };
