/**
 * Pricing v2 (Voice) in the shape the `twilio` library's `pricing.v2.voice`
 * reads: countries (list and one), numbers. Prices are decimal strings;
 * `base_price` is the platform deck's, `current_price` the caller's after its
 * overrides. `decided_by` (our extension, ignored by the library) names the
 * deck and entry behind each `current_price`.
 */
import { z } from '@hono/zod-openapi';
import type { PriceDecision } from '../../../regions/pricing/resolve.js';
import { DecidedBySchema } from './price-overrides.js';

export const V2PagingQuery = z.object({
  PageSize: z.string().regex(/^\d{1,4}$/, 'must be a whole number').transform(Number).pipe(z.number().min(1).max(1000)).optional(),
  Page: z.string().regex(/^\d{1,6}$/, 'must be a whole number').transform(Number).optional(),
  PageToken: z.string().regex(/^PT\d{1,9}$/, 'is not a token this server issued').optional(),
});

export const V2MetaSchema = z.object({
  page: z.number(),
  page_size: z.number(),
  first_page_url: z.string(),
  previous_page_url: z.string().nullable(),
  url: z.string(),
  next_page_url: z.string().nullable(),
  key: z.string(),
});

export const CountrySummarySchema = z.object({ country: z.string(), iso_country: z.string(), url: z.string() }).openapi('PricingVoiceCountrySummary');
export const CountryListSchema = z.object({ countries: z.array(CountrySummarySchema), meta: V2MetaSchema }).openapi('PricingVoiceCountryList');

const PricePair = { base_price: z.string(), current_price: z.string(), decided_by: DecidedBySchema };

export const CountrySchema = z
  .object({
    country: z.string(),
    iso_country: z.string(),
    outbound_prefix_prices: z.array(
      z.object({ origination_prefixes: z.array(z.string()), destination_prefixes: z.array(z.string()), friendly_name: z.string(), ...PricePair }),
    ),
    inbound_call_prices: z.array(z.object({ number_type: z.string(), ...PricePair })),
    price_unit: z.string(),
    url: z.string(),
  })
  .openapi('PricingVoiceCountry');

export const NumberSchema = z
  .object({
    destination_number: z.string(),
    origination_number: z.string().nullable(),
    country: z.string(),
    iso_country: z.string(),
    outbound_call_prices: z.array(z.object({ origination_prefixes: z.array(z.string()), ...PricePair })),
    inbound_call_price: z.object({ number_type: z.string(), ...PricePair }).nullable(),
    price_unit: z.string(),
    url: z.string(),
  })
  .openapi('PricingVoiceNumber');

export const IsoCountryParam = z.object({
  IsoCountry: z.string().regex(/^[A-Za-z]{2}$/).openapi({ param: { name: 'IsoCountry', in: 'path' }, example: 'GB' }),
});
export const DestinationParam = z.object({
  Destination: z.string().max(32).openapi({ param: { name: 'Destination', in: 'path' }, example: '+447911123456' }),
});
export const NumberQuery = z.object({
  OriginationNumber: z.string().max(32).optional().openapi({ description: 'The caller: prices restricted to origination prefixes apply when it matches' }),
});

export function renderDecidedBy(d: PriceDecision): z.infer<typeof DecidedBySchema> {
  return {
    deck: d.deck,
    account_sid: d.accountSid ?? null,
    entry: { sid: d.entry.sid ?? null, prefix: d.entry.prefix ?? null, origination_prefix: d.entry.originationPrefix ?? null, friendly_name: d.entry.friendlyName ?? null },
  };
}
