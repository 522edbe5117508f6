/**
 * PriceOverrides (our extension): `/Accounts/{SubSid}/PriceOverrides[/{Sid}]`.
 * A parent creates, lists, updates and deletes the sparse price deck of its
 * subaccount; an account reads its own deck but never changes it (403), and a
 * top-level account's deck is the operator's (`/v1/pricing/accounts/…`).
 * Entries are validated against the item's rules and the platform deck's
 * countries; resolution (regions/pricing/resolve.ts) uses them at once.
 */
import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { countryOf, isPrefixed, MAX_ACCOUNT_ENTRIES, type DeckEntry, type DeckEntryInput, type PriceItem } from '../../../regions/pricing/deck.js';
import { resolvePrice } from '../../../regions/pricing/resolve.js';
import { PriceDecks, type StoredPlatformDeck } from '../../../regions/pricing/store.js';
import { apiDate } from '../../../regions/store/schema.js';
import { apiError, badParam, notFound } from '../errors.js';
import { pageMeta, pageOffset, PagingQuery } from '../paging.js';
import { AccountAndSidParams, AccountSidParam, accountUri, API_VERSION, conflictResponse, errorResponses, formBody, json } from '../schemas/common.js';
import {
  CreatePriceOverrideForm,
  PriceOverrideListSchema,
  PriceOverrideSchema,
  renderPriceOverride,
  renderPriceOverrideList,
  UpdatePriceOverrideForm,
} from '../schemas/price-overrides.js';
import type { TenantEnv } from '../types.js';

const tags = ['PriceOverrides'];
const BASE = `/${API_VERSION}/Accounts/{AccountSid}/PriceOverrides`;

function decksOf(c: Context<TenantEnv>): PriceDecks {
  const { deps } = c.get('api');
  return new PriceDecks(deps.redis, deps.keyPrefix);
}

/** Only the parent changes a subaccount's prices. */
function requireParent(c: Context<TenantEnv>): void {
  const target = c.get('target');
  const principal = c.get('principal').account;
  if (target.ownerAccountSid === principal.sid) return;
  const why = target.ownerAccountSid === undefined ? "a top-level account's prices are set by the operator" : "a subaccount's prices are set by its parent";
  throw apiError('FORBIDDEN', `Account ${target.sid} cannot change its own price overrides: ${why}`, 20403);
}

/** The entry the form describes, checked field by field (400 naming the form field). */
function checkEntry(e: DeckEntryInput, platform: StoredPlatformDeck): DeckEntryInput {
  if (isPrefixed(e.item) && e.prefix === undefined) throw badParam('Prefix');
  if (!isPrefixed(e.item) && e.prefix !== undefined) throw badParam('Prefix', `${e.item} prices take no Prefix`);
  if (e.originationPrefix !== undefined && e.item !== 'voice-outbound') throw badParam('OriginationPrefix', 'only voice-outbound prices take one');
  if (e.prefix !== undefined && countryOf(platform.deck.countries, e.prefix) === undefined) {
    throw badParam('Prefix', `${e.prefix} is in no country of the platform price deck (${platform.deck.countries.map((x) => x.prefixes.join('/')).join(', ')})`);
  }
  return e;
}

/** What the platform deck alone says for the entry's item and prefix (null when nothing). */
function basePrice(e: DeckEntry, platform: StoredPlatformDeck): string | null {
  try {
    return resolvePrice([{ level: 'platform', index: platform.index }], { item: e.item, ...(e.prefix === undefined ? {} : { destination: e.prefix }), ...(e.originationPrefix === undefined ? {} : { origination: e.originationPrefix }) }).price;
  } catch {
    return null;
  }
}

function duplicate(e: DeckEntryInput) {
  return apiError('CONFLICT', `A price override for ${e.item}${e.prefix === undefined ? '' : ` ${e.prefix}`}${e.originationPrefix === undefined ? '' : ` from ${e.originationPrefix}`} already exists in this account`, 20409, 'Prefix');
}

export function registerPriceOverrideRoutes(app: OpenAPIHono<TenantEnv>): void {
  app.openapi(
    createRoute({
      method: 'post',
      path: BASE,
      tags,
      summary: "Create a price override in a subaccount's deck (parent only)",
      request: { params: AccountSidParam, body: formBody(CreatePriceOverrideForm) },
      responses: { 201: json(PriceOverrideSchema, 'The override'), ...errorResponses, ...conflictResponse },
    }),
    async (c) => {
      requireParent(c);
      const f = c.req.valid('form');
      const decks = decksOf(c);
      const platform = await decks.requirePlatform();
      const input = checkEntry(
        {
          item: (f.Item ?? 'voice-outbound') as PriceItem,
          ...(f.Prefix === undefined ? {} : { prefix: f.Prefix }),
          ...(f.OriginationPrefix === undefined ? {} : { originationPrefix: f.OriginationPrefix }),
          price: f.Price,
          ...(f.FriendlyName === undefined ? {} : { friendlyName: f.FriendlyName }),
        },
        platform,
      );
      const account = c.get('target');
      const r = await decks.createEntry(account.sid, input, apiDate(c.get('api').now()));
      if (r.status === 'duplicate') throw duplicate(input);
      if (r.status === 'full') throw apiError('BAD_REQUEST', `Account ${account.sid} already has ${MAX_ACCOUNT_ENTRIES} price overrides, the most a deck holds`, 20001);
      if (r.status !== 'ok') throw notFound(`Account ${account.sid}`);
      return c.json(renderPriceOverride(account.sid, r.entry, platform.deck.priceUnit, basePrice(r.entry, platform)), 201);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: BASE,
      tags,
      summary: "List an account's price overrides (the account itself or its parent)",
      request: { params: AccountSidParam, query: PagingQuery },
      responses: { 200: json(PriceOverrideListSchema, 'A page of overrides, by item and prefix'), ...errorResponses },
    }),
    async (c) => {
      const paging = c.req.valid('query');
      const account = c.get('target');
      const decks = decksOf(c);
      const platform = await decks.requirePlatform();
      const all = await decks.accountEntries(account.sid);
      const offset = pageOffset(paging);
      const items = all.slice(offset, offset + paging.PageSize).map((e) => renderPriceOverride(account.sid, e, platform.deck.priceUnit, basePrice(e, platform)));
      const meta = pageMeta(`${accountUri(account.sid)}/PriceOverrides.json`, c.req.url, paging, items.length, all.length > offset + paging.PageSize);
      return c.json(renderPriceOverrideList(items, meta), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: `${BASE}/{Sid}`,
      tags,
      summary: 'Fetch a price override',
      request: { params: AccountAndSidParams },
      responses: { 200: json(PriceOverrideSchema, 'The override'), ...errorResponses },
    }),
    async (c) => {
      const { Sid } = c.req.valid('param');
      const account = c.get('target');
      const decks = decksOf(c);
      const platform = await decks.requirePlatform();
      const entry = await decks.accountEntry(account.sid, Sid);
      if (entry === undefined) throw notFound(`PriceOverride ${Sid}`);
      return c.json(renderPriceOverride(account.sid, entry, platform.deck.priceUnit, basePrice(entry, platform)), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: `${BASE}/{Sid}`,
      tags,
      summary: 'Update a price override (parent only); an empty OriginationPrefix removes the restriction',
      request: { params: AccountAndSidParams, body: formBody(UpdatePriceOverrideForm) },
      responses: { 200: json(PriceOverrideSchema, 'The override'), ...errorResponses, ...conflictResponse },
    }),
    async (c) => {
      requireParent(c);
      const { Sid } = c.req.valid('param');
      const f = c.req.valid('form');
      const account = c.get('target');
      const decks = decksOf(c);
      const platform = await decks.requirePlatform();
      const current = await decks.accountEntry(account.sid, Sid);
      if (current === undefined) throw notFound(`PriceOverride ${Sid}`);
      const origination = f.OriginationPrefix === '' ? undefined : (f.OriginationPrefix ?? current.originationPrefix);
      const prefix = f.Prefix ?? current.prefix;
      const friendlyName = f.FriendlyName ?? current.friendlyName;
      const next = checkEntry(
        {
          item: (f.Item ?? current.item) as PriceItem,
          ...(prefix === undefined ? {} : { prefix }),
          ...(origination === undefined ? {} : { originationPrefix: origination }),
          price: f.Price ?? current.price,
          ...(friendlyName === undefined ? {} : { friendlyName }),
        },
        platform,
      );
      const r = await decks.updateEntry(account.sid, current, next, apiDate(c.get('api').now()));
      if (r.status === 'duplicate') throw duplicate(next);
      if (r.status !== 'ok') throw notFound(`PriceOverride ${Sid}`);
      return c.json(renderPriceOverride(account.sid, r.entry, platform.deck.priceUnit, basePrice(r.entry, platform)), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: `${BASE}/{Sid}`,
      tags,
      summary: 'Delete a price override (parent only): the parent or platform price applies again',
      request: { params: AccountAndSidParams },
      responses: { 204: { description: 'Deleted' }, ...errorResponses },
    }),
    async (c) => {
      requireParent(c);
      const { Sid } = c.req.valid('param');
      const account = c.get('target');
      const decks = decksOf(c);
      const entry = await decks.accountEntry(account.sid, Sid);
      if (entry === undefined) throw notFound(`PriceOverride ${Sid}`);
      await decks.deleteEntry(account.sid, entry);
      return c.body(null, 204);
    },
  );
}


