/**
 * The Pricing v2 Voice API under /v2 (the twilio library's pricing domain,
 * pointed at us), answered for the calling account: countries of the
 * platform deck, one country's outbound prefix and inbound prices, and the
 * price of calling one number (optionally from an origination number).
 * `base_price` resolves over the platform deck alone, `current_price` over
 * the account's chain (own, parent, platform: regions/pricing/resolve.ts).
 */
import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { countryOf, INBOUND_ITEM, numberTypeOf, type Country, type NumberType } from '../../../regions/pricing/deck.js';
import { formatMicros } from '../../../regions/pricing/money.js';
import { resolvePrice, type DeckRef, type PriceDecision, type PriceQuery } from '../../../regions/pricing/resolve.js';
import { PriceDecks, type StoredPlatformDeck } from '../../../regions/pricing/store.js';
import { apiError, badParam, notFound } from '../errors.js';
import { errorResponses, json } from '../schemas/common.js';
import {
  CountryListSchema,
  CountrySchema,
  DestinationParam,
  IsoCountryParam,
  NumberQuery,
  NumberSchema,
  renderDecidedBy,
  V2PagingQuery,
} from '../schemas/pricing-v2.js';
import type { TenantEnv } from '../types.js';

export const PRICING_V2_PREFIX = '/v2/';
const tags = ['Pricing v2'];
const DIGITS = /^\+?[1-9]\d{1,14}$/;

/** v2 prices show four decimals at least, as the real price lists do ("0.0140"). */
const price = (d: PriceDecision): string => formatMicros(d.priceMicros, 4);

interface Chains {
  platform: StoredPlatformDeck;
  base: DeckRef[];
  current: DeckRef[];
}

async function chainsOf(c: Context<TenantEnv>): Promise<Chains> {
  const account = c.get('principal').account;
  if (account.status !== 'active') throw apiError('FORBIDDEN', `Account ${account.sid} is not active`, 20005);
  const { deps } = c.get('api');
  const { chain, platform } = await new PriceDecks(deps.redis, deps.keyPrefix).chain(account.sid);
  return { platform, base: [{ level: 'platform', index: platform.index }], current: chain };
}

/** base and current price of one query, or undefined when the platform prices nothing for it. */
function pair(ch: Chains, q: PriceQuery) {
  let base: PriceDecision;
  try {
    base = resolvePrice(ch.base, q);
  } catch {
    return undefined;
  }
  const current = resolvePrice(ch.current, q);
  return { base_price: price(base), current_price: price(current), decided_by: renderDecidedBy(current) };
}

function inboundTypes(country: Country): [NumberType, string][] {
  const types: [NumberType, string][] = [['local', country.prefixes[0]!]];
  if (country.mobilePrefixes[0] !== undefined) types.push(['mobile', country.mobilePrefixes[0]]);
  if (country.tollFreePrefixes[0] !== undefined) types.push(['toll free', country.tollFreePrefixes[0]]);
  return types;
}

export function registerPricingV2Routes(app: OpenAPIHono<TenantEnv>): void {
  app.openapi(
    createRoute({
      method: 'get',
      path: '/v2/Voice/Countries',
      tags,
      summary: 'Countries with voice prices',
      request: { query: V2PagingQuery },
      responses: { 200: json(CountryListSchema, 'A page of countries, by ISO code'), ...errorResponses },
    }),
    async (c) => {
      const q = c.req.valid('query');
      const { platform } = await chainsOf(c);
      const origin = new URL(c.req.url).origin;
      const size = q.PageSize ?? 50;
      const offset = q.PageToken !== undefined ? Number(q.PageToken.slice(2)) : (q.Page ?? 0) * size;
      const page = Math.floor(offset / size);
      const all = [...platform.deck.countries].sort((a, b) => a.isoCountry.localeCompare(b.isoCountry));
      const items = all.slice(offset, offset + size);
      const link = (p: number): string => `${origin}/v2/Voice/Countries?PageSize=${size}&Page=${p}${p === 0 ? '' : `&PageToken=PT${p * size}`}`;
      return c.json(
        {
          countries: items.map((x) => ({ country: x.name, iso_country: x.isoCountry, url: `${origin}/v2/Voice/Countries/${x.isoCountry}` })),
          meta: {
            page,
            page_size: size,
            first_page_url: link(0),
            previous_page_url: page > 0 ? link(page - 1) : null,
            url: link(page),
            next_page_url: all.length > offset + size ? link(page + 1) : null,
            key: 'countries',
          },
        },
        200,
      );
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v2/Voice/Countries/{IsoCountry}',
      tags,
      summary: "A country's outbound prefix prices and inbound prices, base (platform) and current (after the account's overrides)",
      request: { params: IsoCountryParam },
      responses: { 200: json(CountrySchema, 'The country'), ...errorResponses },
    }),
    async (c) => {
      const iso = c.req.valid('param').IsoCountry.toUpperCase();
      const ch = await chainsOf(c);
      const country = ch.platform.deck.countries.find((x) => x.isoCountry === iso);
      if (country === undefined) throw notFound(`Country ${iso}`);
      // One row per outbound prefix (and origination restriction) any deck of the chain has in this country.
      const rows = new Map<string, { prefix: string; origination: string | undefined; name: string | undefined }>();
      for (const ref of [...ch.current].reverse()) {
        for (const e of ref.index.entries) {
          if (e.item !== 'voice-outbound' || e.prefix === undefined || countryOf(ch.platform.deck.countries, e.prefix) !== country) continue;
          const key = `${e.prefix}|${e.originationPrefix ?? ''}`;
          const known = rows.get(key);
          rows.set(key, { prefix: e.prefix, origination: e.originationPrefix, name: known?.name ?? e.friendlyName });
        }
      }
      const outbound = [...rows.values()]
        .sort((a, b) => a.prefix.localeCompare(b.prefix) || (a.origination ?? '').localeCompare(b.origination ?? ''))
        .flatMap((r) => {
          const p = pair(ch, { item: 'voice-outbound', destination: r.prefix, ...(r.origination === undefined ? {} : { origination: r.origination }) });
          if (p === undefined) return [];
          return [{ origination_prefixes: [r.origination ?? 'ALL'], destination_prefixes: [r.prefix], friendly_name: r.name ?? `${country.name} ${r.prefix}`, ...p }];
        });
      const inbound = inboundTypes(country).flatMap(([type, prefix]) => {
        const p = pair(ch, { item: INBOUND_ITEM[type], destination: prefix });
        return p === undefined ? [] : [{ number_type: type, ...p }];
      });
      const origin = new URL(c.req.url).origin;
      return c.json(
        { country: country.name, iso_country: country.isoCountry, outbound_prefix_prices: outbound, inbound_call_prices: inbound, price_unit: ch.platform.deck.priceUnit, url: `${origin}/v2/Voice/Countries/${country.isoCountry}` },
        200,
      );
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v2/Voice/Numbers/{Destination}',
      tags,
      summary: 'What calling a number costs (from OriginationNumber when given), and what a call to it costs as an inbound number',
      request: { params: DestinationParam, query: NumberQuery },
      responses: { 200: json(NumberSchema, 'The prices'), ...errorResponses },
    }),
    async (c) => {
      const raw = decodeURIComponent(c.req.valid('param').Destination).trim();
      if (!DIGITS.test(raw)) throw badParam('Destination', 'must be an E.164 number such as +447911123456');
      const destination = raw.startsWith('+') ? raw : `+${raw}`;
      const o = c.req.valid('query').OriginationNumber;
      if (o !== undefined && !DIGITS.test(o.trim())) throw badParam('OriginationNumber', 'must be an E.164 number such as +15551234567');
      const origination = o === undefined ? undefined : o.trim().startsWith('+') ? o.trim() : `+${o.trim()}`;
      const ch = await chainsOf(c);
      const country = countryOf(ch.platform.deck.countries, destination);
      if (country === undefined) throw notFound(`Prices for ${destination} (no country of the price deck)`);
      const outbound: { origination_prefixes: string[]; base_price: string; current_price: string; decided_by: ReturnType<typeof renderDecidedBy> }[] = [];
      // A row per origination: `label` is the restriction it stands for ('ALL': calls from anywhere else).
      const row = (from: string | undefined, label: string): void => {
        const p = pair(ch, { item: 'voice-outbound', destination, ...(from === undefined ? {} : { origination: from }) });
        if (p !== undefined && !outbound.some((x) => x.origination_prefixes[0] === label)) outbound.push({ origination_prefixes: [label], ...p });
      };
      const restrictions = new Set<string>();
      for (const ref of ch.current) for (const e of ref.index.entries) if (e.item === 'voice-outbound' && e.originationPrefix !== undefined && e.prefix !== undefined && destination.startsWith(e.prefix)) restrictions.add(e.originationPrefix);
      if (origination !== undefined) {
        // The caller's row is labelled by the longest restriction it falls under, if any.
        const applies = [...restrictions].filter((r) => origination.startsWith(r)).sort((a, b) => b.length - a.length)[0];
        row(origination, applies ?? 'ALL');
      } else {
        // Without a caller: the price from anywhere, plus one row per origination restriction that applies to this destination.
        row(undefined, 'ALL');
        for (const r of [...restrictions].sort()) row(r, r);
      }
      const type = numberTypeOf(country, destination);
      const inbound = pair(ch, { item: INBOUND_ITEM[type], destination });
      const origin = new URL(c.req.url).origin;
      return c.json(
        {
          destination_number: destination,
          origination_number: origination ?? null,
          country: country.name,
          iso_country: country.isoCountry,
          outbound_call_prices: outbound,
          inbound_call_price: inbound === undefined ? null : { number_type: type, ...inbound },
          price_unit: ch.platform.deck.priceUnit,
          url: `${origin}/v2/Voice/Numbers/${encodeURIComponent(destination)}`,
        },
        200,
      );
    },
  );
}
