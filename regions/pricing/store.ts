/**
 * Price decks in Redis and the one place prices are resolved for an account:
 * the platform deck (hash `price-deck` of keys.ts: version, source, JSON —
 * cached per process and re-read only when its version changes), each
 * account's sparse deck (hash `account:{sid}:price-deck`, one field per
 * item|prefix|originationPrefix, at most MAX_ACCOUNT_ENTRIES), and the rates
 * captured when calls start. The control plane writes decks (operator API,
 * PriceOverrides); the call side only reads them.
 */
import type { Redis } from 'ioredis';
import { MeshError } from '../core/errors.js';
import { keys } from '../store/keys.js';
import type { AccountRecord } from '../store/schema.js';
import { newSid } from '../store/sids.js';
import {
  countryOf,
  entryKey,
  INBOUND_ITEM,
  MAX_ACCOUNT_ENTRIES,
  numberTypeOf,
  type DeckEntry,
  type DeckEntryInput,
  type PlatformDeck,
  type PriceItem,
} from './deck.js';
import { startedMinutes } from './money.js';
import { DeckIndex, resolvePrice, type DeckRef, type PriceDecision, type PriceQuery } from './resolve.js';

export type DeckSource = 'configuration' | 'operator';

export interface StoredPlatformDeck {
  version: number;
  source: DeckSource;
  deck: PlatformDeck;
  index: DeckIndex;
}

/** A rate taken when a call (or recording) starts: its price is computed from this when it ends. */
export interface CapturedRate {
  item: PriceItem;
  perMinuteMicros: number;
  /** Added once to an answered call (the `api-call` price of API-originated calls); 0 otherwise. */
  perCallMicros: number;
  priceUnit: string;
  /** The deck and entry that decided the per-minute price. */
  decidedBy: Pick<PriceDecision, 'deck' | 'accountSid' | 'entry'>;
  /** When it was captured, ms since the epoch. */
  at: number;
}

/** How long a B2BUA call's captured rate waits for the call's end. */
const CALL_RATE_TTL_S = 2 * 86_400;

// An entry is created only if its item|prefix|origination is free and the deck is not full.
const CREATE_ENTRY = `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 'duplicate' end
if redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[3]) then return 'full' end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 'ok'`;

// Moves an entry to a new item|prefix|origination (or rewrites it in place), if it is still the one read (same SID).
const UPDATE_ENTRY = `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur or cjson.decode(cur).sid ~= ARGV[4] then return 'gone' end
if ARGV[1] ~= ARGV[2] and redis.call('HEXISTS', KEYS[1], ARGV[2]) == 1 then return 'duplicate' end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
return 'ok'`;

/**
 * Parsed platform decks, shared by every PriceDecks of a process on the same connection and prefix
 * (the API builds one per request): a 100 000-entry deck is parsed and indexed once per version.
 */
const platformCache = new WeakMap<Redis, Map<string, StoredPlatformDeck>>();

export type EntryWrite = { status: 'ok'; entry: DeckEntry } | { status: 'duplicate' | 'full' | 'gone' };

export class PriceDecks {
  private readonly k: ReturnType<typeof keys>;
  private readonly cache: Map<string, StoredPlatformDeck>;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {
    this.k = keys(prefix);
    let cache = platformCache.get(redis);
    if (cache === undefined) platformCache.set(redis, (cache = new Map()));
    this.cache = cache;
  }

  // ---- platform deck

  /** The platform deck, re-read only when its version changed; undefined when none was ever written. */
  async platform(): Promise<StoredPlatformDeck | undefined> {
    const version = await this.redis.hget(this.k.platformPriceDeck(), 'version');
    if (version === null) return undefined;
    const cached = this.cache.get(this.prefix);
    if (cached?.version === Number(version)) return cached;
    const [v, source, json] = await this.redis.hmget(this.k.platformPriceDeck(), 'version', 'source', 'deck');
    if (v == null || json == null) return undefined;
    // Validated when written (setPlatform's callers parse it first).
    const deck = JSON.parse(json) as PlatformDeck;
    const loaded: StoredPlatformDeck = { version: Number(v), source: (source ?? 'operator') as DeckSource, deck, index: new DeckIndex(deck.entries) };
    this.cache.set(this.prefix, loaded);
    return loaded;
  }

  async requirePlatform(): Promise<StoredPlatformDeck> {
    const p = await this.platform();
    if (p === undefined) throw new MeshError('SERVICE_UNAVAILABLE', 'no platform price deck is loaded (the control plane writes it at start)');
    return p;
  }

  /** Replaces the platform deck (already validated with parsePlatformDeck); returns the new version. */
  async setPlatform(deck: PlatformDeck, source: DeckSource): Promise<number> {
    const res = await this.redis.multi().hincrby(this.k.platformPriceDeck(), 'version', 1).hset(this.k.platformPriceDeck(), 'source', source, 'deck', JSON.stringify(deck)).exec();
    return Number(res?.[0]?.[1]);
  }

  /**
   * At control-plane start: the configured deck is written unless the operator replaced it
   * (an operator's deck survives restarts; a configuration change reaches Redis on the next start).
   */
  async seedPlatform(deck: PlatformDeck): Promise<'written' | 'kept-operator-deck' | 'unchanged'> {
    const [source, json] = await this.redis.hmget(this.k.platformPriceDeck(), 'source', 'deck');
    if (source === 'operator') return 'kept-operator-deck';
    if (json === JSON.stringify(deck)) return 'unchanged';
    await this.setPlatform(deck, 'configuration');
    return 'written';
  }

  // ---- account decks

  async accountEntries(accountSid: string): Promise<DeckEntry[]> {
    const hash = await this.redis.hgetall(this.k.accountPriceDeck(accountSid));
    return sortEntries(Object.values(hash).map((v) => JSON.parse(v) as DeckEntry));
  }

  async accountEntry(accountSid: string, sid: string): Promise<DeckEntry | undefined> {
    return (await this.accountEntries(accountSid)).find((e) => e.sid === sid);
  }

  async createEntry(accountSid: string, input: DeckEntryInput, date: string): Promise<EntryWrite> {
    const entry: DeckEntry = { sid: newSid('PO'), ...input, dateCreated: date, dateUpdated: date };
    const r = (await this.redis.eval(CREATE_ENTRY, 1, this.k.accountPriceDeck(accountSid), entryKey(entry), JSON.stringify(entry), MAX_ACCOUNT_ENTRIES)) as string;
    return r === 'ok' ? { status: 'ok', entry } : { status: r as 'duplicate' | 'full' };
  }

  async updateEntry(accountSid: string, current: DeckEntry, next: DeckEntryInput, date: string): Promise<EntryWrite> {
    const entry: DeckEntry = { ...next, sid: current.sid!, dateCreated: current.dateCreated ?? date, dateUpdated: date };
    const r = (await this.redis.eval(UPDATE_ENTRY, 1, this.k.accountPriceDeck(accountSid), entryKey(current), entryKey(entry), JSON.stringify(entry), current.sid!)) as string;
    return r === 'ok' ? { status: 'ok', entry } : { status: r as 'duplicate' | 'gone' };
  }

  async deleteEntry(accountSid: string, entry: DeckEntry): Promise<void> {
    await this.redis.hdel(this.k.accountPriceDeck(accountSid), entryKey(entry));
  }

  /** The operator's replacement of a top-level account's deck (validated, unique, at most MAX_ACCOUNT_ENTRIES). */
  async replaceAccountDeck(accountSid: string, inputs: DeckEntryInput[], date: string): Promise<DeckEntry[]> {
    const entries: DeckEntry[] = inputs.map((e) => ({ sid: newSid('PO'), ...e, dateCreated: date, dateUpdated: date }));
    const tx = this.redis.multi().del(this.k.accountPriceDeck(accountSid));
    if (entries.length > 0) tx.hset(this.k.accountPriceDeck(accountSid), Object.fromEntries(entries.map((e) => [entryKey(e), JSON.stringify(e)])));
    await tx.exec();
    return sortEntries(entries);
  }

  // ---- resolution

  /** The account's decks, nearest first: its own, its parent's (subaccounts), the platform's. */
  async chain(accountSid: string): Promise<{ chain: DeckRef[]; platform: StoredPlatformDeck }> {
    const raw = await this.redis.get(this.k.account(accountSid));
    const account = raw === null ? undefined : (JSON.parse(raw) as AccountRecord);
    const parent = account?.ownerAccountSid;
    const [own, parentEntries, platform] = await Promise.all([
      this.accountEntries(accountSid),
      parent === undefined ? Promise.resolve([]) : this.accountEntries(parent),
      this.requirePlatform(),
    ]);
    const chain: DeckRef[] = [{ level: 'account', accountSid, index: new DeckIndex(own) }];
    if (parent !== undefined) chain.push({ level: 'parent', accountSid: parent, index: new DeckIndex(parentEntries) });
    chain.push({ level: 'platform', index: platform.index });
    return { chain, platform };
  }

  async resolve(accountSid: string, q: PriceQuery): Promise<PriceDecision> {
    return resolvePrice((await this.chain(accountSid)).chain, q);
  }

  /** The rate of a call starting now (see CapturedRate); throws NOT_FOUND when the decks price nothing for it. */
  async callRate(call: { accountSid: string; direction: 'inbound' | 'outbound-api' | 'outbound-dial'; from: string; to: string }, at = Date.now()): Promise<CapturedRate> {
    const { chain, platform } = await this.chain(call.accountSid);
    let decision: PriceDecision;
    let perCallMicros = 0;
    if (call.direction === 'inbound') {
      const country = countryOf(platform.deck.countries, call.to);
      const item = country === undefined ? 'voice-inbound-local' : INBOUND_ITEM[numberTypeOf(country, call.to)];
      decision = resolvePrice(chain, { item, destination: call.to });
    } else {
      decision = resolvePrice(chain, { item: 'voice-outbound', destination: call.to, origination: call.from });
      if (call.direction === 'outbound-api') perCallMicros = resolvePrice(chain, { item: 'api-call' }).priceMicros;
    }
    return rateOf(decision, perCallMicros, platform.deck.priceUnit, at);
  }

  /** The per-minute rate of a non-voice item (recording, media-branch) for the account now. */
  async itemRate(accountSid: string, item: 'recording' | 'media-branch', at = Date.now()): Promise<CapturedRate> {
    const { chain, platform } = await this.chain(accountSid);
    return rateOf(resolvePrice(chain, { item }), 0, platform.deck.priceUnit, at);
  }

  /** Keeps a B2BUA call's rate until it ends (the call has no record before then). */
  async captureCallRate(callSid: string, rate: CapturedRate): Promise<void> {
    await this.redis.set(this.k.callRate(callSid), JSON.stringify(rate), 'EX', CALL_RATE_TTL_S);
  }

  /** The rate captured for a B2BUA call, removed as it is read. */
  async takeCallRate(callSid: string): Promise<CapturedRate | undefined> {
    const raw = await this.redis.getdel(this.k.callRate(callSid));
    return raw === null ? undefined : (JSON.parse(raw) as CapturedRate);
  }
}

function rateOf(d: PriceDecision, perCallMicros: number, priceUnit: string, at: number): CapturedRate {
  return {
    item: d.item,
    perMinuteMicros: d.priceMicros,
    perCallMicros,
    priceUnit,
    decidedBy: { deck: d.deck, ...(d.accountSid === undefined ? {} : { accountSid: d.accountSid }), entry: d.entry },
    at,
  };
}

/** Price of `durationS` seconds at `rate`: each started minute (at least one), plus the per-call price. */
export function priceAtRate(rate: CapturedRate, durationS: number): number {
  return startedMinutes(durationS) * rate.perMinuteMicros + rate.perCallMicros;
}

function sortEntries(entries: DeckEntry[]): DeckEntry[] {
  return entries.sort((a, b) => entryKey(a).localeCompare(entryKey(b)));
}
