/**
 * PriceOverrides (our extension): the sparse price deck a parent sets for
 * its subaccount, one entry per resource. Fields as a form: `Item` (default
 * `voice-outbound`), `Prefix` (E.164 digits with +), `OriginationPrefix`
 * (voice-outbound only), `Price` (decimal string: per minute, per call for
 * `api-call`), `FriendlyName`.
 */
import { z } from '@hono/zod-openapi';
import { PREFIX_PATTERN, PRICE_ITEMS, type DeckEntry } from '../../../regions/pricing/deck.js';
import { PRICE_PATTERN } from '../../../regions/pricing/money.js';
import { PageMetaSchema, type PageMeta } from '../paging.js';
import { accountUri } from './common.js';

const PrefixField = z.string().regex(PREFIX_PATTERN, 'must be + and 1 to 15 digits, such as +4420');
const PriceField = z.string().regex(PRICE_PATTERN, 'must be a decimal such as 0.0140 (at most 4 integer digits and 6 decimals)');
const ItemField = z.enum(PRICE_ITEMS).openapi({ description: 'What the price is for; default voice-outbound' });

export const CreatePriceOverrideForm = z.object({
  Item: ItemField.optional(),
  Prefix: PrefixField.optional().openapi({ description: 'Destination prefix (voice-outbound) or called-number prefix (voice-inbound-*); required for voice items, refused for the others' }),
  OriginationPrefix: PrefixField.optional().openapi({ description: 'voice-outbound only: applies only to calls from numbers under this prefix' }),
  Price: PriceField.openapi({ description: 'Per minute (per call for api-call), in the deck currency' }),
  FriendlyName: z.string().max(64).optional(),
});

/** Update: any field; an empty OriginationPrefix removes the restriction. */
export const UpdatePriceOverrideForm = z.object({
  Item: ItemField.optional(),
  Prefix: PrefixField.optional(),
  OriginationPrefix: z.union([PrefixField, z.literal('')]).optional(),
  Price: PriceField.optional(),
  FriendlyName: z.string().max(64).optional(),
});

const DecidedBySchema = z
  .object({
    deck: z.enum(['account', 'parent', 'platform']),
    account_sid: z.string().nullable(),
    entry: z.object({ sid: z.string().nullable(), prefix: z.string().nullable(), origination_prefix: z.string().nullable(), friendly_name: z.string().nullable() }),
  })
  .openapi('PriceDecidedBy');

export const PriceOverrideSchema = z
  .object({
    sid: z.string(),
    account_sid: z.string(),
    item: z.enum(PRICE_ITEMS),
    prefix: z.string().nullable(),
    origination_prefix: z.string().nullable(),
    price: z.string(),
    price_unit: z.string(),
    friendly_name: z.string().nullable(),
    /** The price the platform deck alone gives the same item and prefix (null when it has none). */
    base_price: z.string().nullable(),
    date_created: z.string(),
    date_updated: z.string(),
    uri: z.string(),
  })
  .openapi('PriceOverride');

export const PriceOverrideListSchema = z.object({ price_overrides: z.array(PriceOverrideSchema), ...PageMetaSchema }).openapi('PriceOverrideList');

export function renderPriceOverride(accountSid: string, e: DeckEntry, priceUnit: string, basePrice: string | null): z.infer<typeof PriceOverrideSchema> {
  return {
    sid: e.sid!,
    account_sid: accountSid,
    item: e.item,
    prefix: e.prefix ?? null,
    origination_prefix: e.originationPrefix ?? null,
    price: e.price,
    price_unit: priceUnit,
    friendly_name: e.friendlyName ?? null,
    base_price: basePrice,
    date_created: e.dateCreated ?? '',
    date_updated: e.dateUpdated ?? '',
    uri: `${accountUri(accountSid)}/PriceOverrides/${e.sid}.json`,
  };
}

export function renderPriceOverrideList(items: z.infer<typeof PriceOverrideSchema>[], meta: PageMeta): z.infer<typeof PriceOverrideListSchema> {
  return { price_overrides: items, ...meta };
}

export { DecidedBySchema };
