/**
 * Operator pricing (`/v1/pricing/…`): the platform deck (read, replace) and
 * top-level accounts' sparse decks (read, replace, clear), plus a resolution
 * probe that says which deck and entry decide a price for an account.
 * Subaccounts' decks belong to their parents (tenant API PriceOverrides).
 * Bodies are JSON; the platform deck may be up to 16 MiB (100 000 entries).
 */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { Redis } from 'ioredis';
import { MeshError } from '../../regions/core/errors.js';
import {
  checkUniqueEntries,
  countryOf,
  deckEntrySchema,
  MAX_ACCOUNT_ENTRIES,
  MAX_COUNTRIES,
  MAX_PLATFORM_ENTRIES,
  MAX_PREFIX_DIGITS,
  parsePlatformDeck,
  platformDeckSchema,
  PRICE_ITEMS,
} from '../../regions/pricing/deck.js';
import { PriceDecks } from '../../regions/pricing/store.js';
import { keys } from '../../regions/store/keys.js';
import { apiDate, type AccountRecord } from '../../regions/store/schema.js';
import { jsonBody } from './http.js';
import { ErrorSchema } from './schemas.js';
import { SECURITY_SCHEME } from './routes.js';

export const MAX_PLATFORM_DECK_BYTES = 16 * 1024 * 1024;
const security = [{ [SECURITY_SCHEME]: [] }];
const tags = ['operator pricing'];
const json = <T extends z.ZodTypeAny>(schema: T, description: string) => ({ content: { 'application/json': { schema } }, description });
const err = (description: string) => json(ErrorSchema, description);
const common = { 401: err('Operator credentials missing or wrong') };
const bodyErrors = { 400: err('A field is invalid; `field` names it'), 413: err('Body over the limit'), 415: err('Body is not application/json') };

const StoredEntrySchema = z.object({
  sid: z.string().optional(),
  item: z.enum(PRICE_ITEMS),
  prefix: z.string().optional(),
  originationPrefix: z.string().optional(),
  price: z.string(),
  friendlyName: z.string().optional(),
  dateCreated: z.string().optional(),
  dateUpdated: z.string().optional(),
});
/** The bounds every deck is held to, shown with the platform deck. */
const LIMITS = { platformEntries: MAX_PLATFORM_ENTRIES, accountEntries: MAX_ACCOUNT_ENTRIES, countries: MAX_COUNTRIES, prefixDigits: MAX_PREFIX_DIGITS, platformDeckBytes: MAX_PLATFORM_DECK_BYTES };
const PlatformDeckView = z.object({
  version: z.number(),
  source: z.enum(['configuration', 'operator']),
  priceUnit: z.string(),
  limits: z.object({ platformEntries: z.number(), accountEntries: z.number(), countries: z.number(), prefixDigits: z.number(), platformDeckBytes: z.number() }),
  countries: z.array(z.any()),
  entries: z.array(StoredEntrySchema),
});
const AccountDeckView = z.object({ accountSid: z.string(), entries: z.array(StoredEntrySchema) });
const AccountParam = z.object({ accountSid: z.string().openapi({ param: { name: 'accountSid', in: 'path' }, example: 'AC0123456789abcdef0123456789abcdef' }) });
const AccountDeckBody = z.object({ entries: z.array(deckEntrySchema).max(MAX_ACCOUNT_ENTRIES) }).strict();
const ResolveQuery = z.object({
  item: z.enum(PRICE_ITEMS).default('voice-outbound'),
  destination: z.string().regex(/^\+[1-9]\d{1,14}$/, 'must be an E.164 number').optional(),
  origination: z.string().regex(/^\+[1-9]\d{1,14}$/, 'must be an E.164 number').optional(),
});

const getPlatform = createRoute({ method: 'get', path: '/pricing/platform', tags, security, summary: 'The platform price deck, its version and where it came from', responses: { 200: json(PlatformDeckView, 'The deck'), 503: err('No deck loaded'), ...common } });
const putPlatform = createRoute({
  method: 'put',
  path: '/pricing/platform',
  tags,
  security,
  summary: 'Replace the platform price deck (must be complete); it outlives restarts until replaced again',
  middleware: jsonBody(MAX_PLATFORM_DECK_BYTES),
  request: { body: { content: { 'application/json': { schema: platformDeckSchema } }, required: true } },
  responses: { 200: json(z.object({ version: z.number(), source: z.literal('operator'), countries: z.number(), entries: z.number() }), 'Replaced'), ...bodyErrors, ...common },
});
const getAccountDeck = createRoute({ method: 'get', path: '/pricing/accounts/{accountSid}', tags, security, summary: "A top-level account's price overrides", request: { params: AccountParam }, responses: { 200: json(AccountDeckView, 'The deck'), 400: err('A subaccount'), 404: err('No such account'), ...common } });
const putAccountDeck = createRoute({
  method: 'put',
  path: '/pricing/accounts/{accountSid}',
  tags,
  security,
  summary: "Replace a top-level account's price overrides (only the entries that differ from the platform's)",
  middleware: jsonBody(),
  request: { params: AccountParam, body: { content: { 'application/json': { schema: AccountDeckBody } }, required: true } },
  responses: { 200: json(AccountDeckView, 'The new deck'), 404: err('No such account'), ...bodyErrors, ...common },
});
const deleteAccountDeck = createRoute({ method: 'delete', path: '/pricing/accounts/{accountSid}', tags, security, summary: "Remove a top-level account's overrides: platform prices apply", request: { params: AccountParam }, responses: { 204: { description: 'Cleared' }, 400: err('A subaccount'), 404: err('No such account'), ...common } });
const resolveForAccount = createRoute({
  method: 'get',
  path: '/pricing/accounts/{accountSid}/resolve',
  tags,
  security,
  summary: 'The price of an item for an account (any account) and the deck and entry that decide it',
  request: { params: AccountParam, query: ResolveQuery },
  responses: { 200: json(z.object({ accountSid: z.string(), decision: z.any() }), 'The decision'), 404: err('No such account, or no price'), ...common },
});

export const PRICING_ALLOWED_METHODS: ReadonlyArray<readonly [string, readonly string[]]> = [
  ['/pricing/platform', ['GET', 'HEAD', 'PUT']],
  ['/pricing/accounts/:accountSid', ['GET', 'HEAD', 'PUT', 'DELETE']],
  ['/pricing/accounts/:accountSid/resolve', ['GET', 'HEAD']],
];

export function registerPricingRoutes(app: OpenAPIHono, deps: { redis: Redis; keyPrefix: string }): void {
  const decks = new PriceDecks(deps.redis, deps.keyPrefix);
  const k = keys(deps.keyPrefix);

  const account = async (sid: string): Promise<AccountRecord> => {
    const raw = /^AC[0-9a-f]{32}$/.test(sid) ? await deps.redis.get(k.account(sid)) : null;
    if (raw === null) throw new MeshError('NOT_FOUND', `account ${sid} not found`, { detail: { field: 'accountSid' } });
    return JSON.parse(raw) as AccountRecord;
  };
  const topLevel = async (sid: string): Promise<AccountRecord> => {
    const a = await account(sid);
    if (a.ownerAccountSid !== undefined) {
      throw new MeshError('BAD_REQUEST', `account ${sid} is a subaccount of ${a.ownerAccountSid}: its parent sets its prices (PriceOverrides)`, { detail: { field: 'accountSid' } });
    }
    return a;
  };

  app.openapi(getPlatform, async (c) => {
    const p = await decks.requirePlatform();
    return c.json({ version: p.version, source: p.source, priceUnit: p.deck.priceUnit, limits: LIMITS, countries: p.deck.countries, entries: p.deck.entries }, 200);
  });

  app.openapi(putPlatform, async (c) => {
    const deck = parsePlatformDeck(c.req.valid('json'));
    const version = await decks.setPlatform(deck, 'operator');
    return c.json({ version, source: 'operator' as const, countries: deck.countries.length, entries: deck.entries.length }, 200);
  });

  app.openapi(getAccountDeck, async (c) => {
    const { accountSid } = c.req.valid('param');
    await topLevel(accountSid);
    return c.json({ accountSid, entries: await decks.accountEntries(accountSid) }, 200);
  });

  app.openapi(putAccountDeck, async (c) => {
    const { accountSid } = c.req.valid('param');
    await topLevel(accountSid);
    const { entries } = c.req.valid('json');
    checkUniqueEntries(entries);
    const platform = await decks.requirePlatform();
    entries.forEach((e, i) => {
      if (e.prefix !== undefined && countryOf(platform.deck.countries, e.prefix) === undefined) {
        throw new MeshError('BAD_REQUEST', `entries[${i}].prefix: ${e.prefix} is in no country of the platform deck`, { detail: { field: `entries[${i}].prefix` } });
      }
    });
    return c.json({ accountSid, entries: await decks.replaceAccountDeck(accountSid, entries, apiDate()) }, 200);
  });

  app.openapi(deleteAccountDeck, async (c) => {
    const { accountSid } = c.req.valid('param');
    await topLevel(accountSid);
    await decks.replaceAccountDeck(accountSid, [], apiDate());
    return c.body(null, 204);
  });

  app.openapi(resolveForAccount, async (c) => {
    const { accountSid } = c.req.valid('param');
    await account(accountSid);
    const q = c.req.valid('query');
    const decision = await decks.resolve(accountSid, { item: q.item, ...(q.destination === undefined ? {} : { destination: q.destination }), ...(q.origination === undefined ? {} : { origination: q.origination }) });
    return c.json({ accountSid, decision }, 200);
  });
}
