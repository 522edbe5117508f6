/**
 * Pricing through the control plane as it runs (issue 14 §1): the configured
 * platform deck written at start, a parent's PriceOverrides for its
 * subaccount (the subaccount reads them and may not change them), the
 * operator's /v1/pricing (platform deck and top-level accounts' decks), and
 * Pricing v2 under /v2 read with the official `twilio` library.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import twilio from 'twilio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrapAccount } from '../../../control-plane/store/accounts.js';
import { parseConfig } from '../../../infra/config.js';
import { startControlPlane, type ControlPlane } from '../../../infra/control-plane.js';
import { silentLogger } from '../../../regions/core/log.js';
import { loadPlatformDeck } from '../../../regions/pricing/deck-file.js';
import type { AccountRecord } from '../../../regions/store/schema.js';
import { clearKeys } from '../../support/redis-keys.js';
import { LocalRequestClient } from '../../support/twilio-local.js';
import { TEST_REDIS_URL } from '../global-setup.js';

const PREFIX = 'it-pricing-api:';
const basic = (u: string, p: string): string => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;

describe('pricing API: decks, overrides, Pricing v2', () => {
  let cp: ControlPlane;
  let parent: AccountRecord;
  let sub: { sid: string; authToken: string };

  async function tenant(method: string, path: string, auth: { sid: string; authToken: string }, form?: Record<string, string>) {
    const res = await fetch(`${cp.url}/2010-04-01${path}`, {
      method,
      headers: { Authorization: basic(auth.sid, auth.authToken), ...(form === undefined ? {} : { 'Content-Type': 'application/x-www-form-urlencoded' }) },
      ...(form === undefined ? {} : { body: new URLSearchParams(form).toString() }),
    });
    const text = await res.text();
    return { status: res.status, body: text === '' ? undefined : JSON.parse(text) };
  }
  async function operator(method: string, path: string, body?: unknown) {
    const res = await fetch(`${cp.url}/v1${path}`, {
      method,
      headers: { Authorization: basic(cp.operator.username, cp.operator.password), ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: text === '' ? undefined : JSON.parse(text) };
  }

  beforeAll(async () => {
    await clearKeys(TEST_REDIS_URL, PREFIX);
    const runDir = mkdtempSync(join(tmpdir(), 'pricing-api-'));
    const config = parseConfig({ region: 'us-east', runDir, redis: { url: TEST_REDIS_URL, keyPrefix: PREFIX }, controlPlane: { address: '127.0.0.1' } });
    cp = await startControlPlane(config, { operatorPassword: 'pricing-operator', port: 0 }, silentLogger);
    parent = await bootstrapAccount(cp.redis, PREFIX, { friendlyName: 'Reseller', homeRegion: 'us-east' });
    const created = await tenant('POST', `/Accounts.json`, parent, { FriendlyName: 'Customer' });
    expect(created.status).toBe(201);
    sub = { sid: created.body.sid, authToken: created.body.auth_token };
  });

  afterAll(async () => {
    if (cp !== undefined) {
      await clearKeys(TEST_REDIS_URL, PREFIX);
      await cp.close();
    }
  });

  it('the control plane wrote the configured platform deck at start', async () => {
    const r = await operator('GET', '/pricing/platform');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ source: 'configuration', priceUnit: 'USD', limits: { platformEntries: 100000, accountEntries: 1000, prefixDigits: 15 } });
    expect(r.body.countries.map((c: { isoCountry: string }) => c.isoCountry)).toEqual(['US', 'GB', 'IN']);
  });

  it('a parent creates, lists, updates and deletes overrides of its subaccount; the subaccount reads them and gets 403 on changes', async () => {
    const S = `/Accounts/${sub.sid}/PriceOverrides`;
    const created = await tenant('POST', `${S}.json`, parent, { Prefix: '+44', Price: '0.0120', FriendlyName: 'UK special' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ account_sid: sub.sid, item: 'voice-outbound', prefix: '+44', origination_prefix: null, price: '0.0120', price_unit: 'USD', base_price: '0.0161' });
    expect(created.body.sid).toMatch(/^PO[0-9a-f]{32}$/);
    const sid = created.body.sid as string;

    // The same item and prefix twice: 409 naming the field.
    expect((await tenant('POST', `${S}.json`, parent, { Prefix: '+44', Price: '0.0130' })).status).toBe(409);
    // Validation names the field.
    const noPrice = await tenant('POST', `${S}.json`, parent, { Prefix: '+44' });
    expect(noPrice).toMatchObject({ status: 400, body: { message: 'Missing required parameter Price' } });
    const badPrice = await tenant('POST', `${S}.json`, parent, { Prefix: '+44', Price: '-1' });
    expect(badPrice.status).toBe(400);
    expect(badPrice.body.message).toMatch(/^Invalid parameter Price: must be a decimal/);
    const longPrefix = await tenant('POST', `${S}.json`, parent, { Prefix: '+1234567890123456', Price: '0.01' });
    expect(longPrefix.body.message).toMatch(/^Invalid parameter Prefix: must be \+ and 1 to 15 digits/);
    const outside = await tenant('POST', `${S}.json`, parent, { Prefix: '+33', Price: '0.01' });
    expect(outside).toMatchObject({ status: 400 });
    expect(outside.body.message).toMatch(/^Invalid parameter Prefix: \+33 is in no country of the platform price deck/);
    expect((await tenant('POST', `${S}.json`, parent, { Item: 'recording', Prefix: '+1', Price: '0.01' })).body.message).toBe('Invalid parameter Prefix: recording prices take no Prefix');
    expect((await tenant('POST', `${S}.json`, parent, { Item: 'voice-inbound-local', Prefix: '+1', OriginationPrefix: '+1', Price: '0.01' })).body.message).toBe('Invalid parameter OriginationPrefix: only voice-outbound prices take one');
    expect((await tenant('POST', `${S}.json`, parent, { Item: 'fax', Prefix: '+1', Price: '0.01' })).body.message).toMatch(/^Invalid parameter Item/);

    // The subaccount reads its own deck …
    const listed = await tenant('GET', `${S}.json`, sub);
    expect(listed.status).toBe(200);
    expect(listed.body.price_overrides.map((o: { sid: string }) => o.sid)).toEqual([sid]);
    expect((await tenant('GET', `${S}/${sid}.json`, sub)).body.price).toBe('0.0120');
    // … and may not change it.
    const forbidden = await tenant('POST', `${S}.json`, sub, { Prefix: '+91', Price: '0.001' });
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.message).toMatch(/cannot change its own price overrides: a subaccount's prices are set by its parent/);
    expect((await tenant('POST', `${S}/${sid}.json`, sub, { Price: '0' })).status).toBe(403);
    expect((await tenant('DELETE', `${S}/${sid}.json`, sub)).status).toBe(403);
    // A top-level account may not write its own deck either (the operator's).
    expect((await tenant('POST', `/Accounts/${parent.sid}/PriceOverrides.json`, parent, { Prefix: '+1', Price: '0' })).status).toBe(403);
    // Another tenant's SID and a malformed one are 404.
    expect((await tenant('GET', `${S}/PO${'0'.repeat(32)}.json`, parent)).status).toBe(404);
    expect((await tenant('GET', `${S}/nope.json`, parent)).status).toBe(404);

    const updated = await tenant('POST', `${S}/${sid}.json`, parent, { Prefix: '+447', OriginationPrefix: '+44', Price: '0.0250' });
    expect(updated.body).toMatchObject({ sid, prefix: '+447', origination_prefix: '+44', price: '0.0250', base_price: '0.0300' });
    expect((await tenant('DELETE', `${S}/${sid}.json`, parent)).status).toBe(204);
    expect((await tenant('GET', `${S}.json`, parent)).body.price_overrides).toEqual([]);
  });

  it('Pricing v2 with the twilio library: base price from the platform, current price after the overrides, for the caller', async () => {
    await tenant('POST', `/Accounts/${sub.sid}/PriceOverrides.json`, parent, { Prefix: '+4479', Price: '0.0200' });
    await tenant('POST', `/Accounts/${sub.sid}/PriceOverrides.json`, parent, { Prefix: '+44', Price: '0.0100' });
    const asSub = twilio(sub.sid, sub.authToken, { httpClient: new LocalRequestClient(cp.url) });
    const asParent = twilio(parent.sid, parent.authToken, { httpClient: new LocalRequestClient(cp.url) });

    const countries = await asSub.pricing.v2.voice.countries.list();
    expect(countries.map((c) => c.isoCountry)).toEqual(['GB', 'IN', 'US']);
    expect(countries[0]?.country).toBe('United Kingdom');
    // Paging through the library: one per page.
    const paged = await asSub.pricing.v2.voice.countries.list({ pageSize: 1 });
    expect(paged.map((c) => c.isoCountry)).toEqual(['GB', 'IN', 'US']);

    const gb = await asSub.pricing.v2.voice.countries('GB').fetch();
    expect(gb.priceUnit).toBe('USD');
    const row = (prefix: string, from = 'ALL') => gb.outboundPrefixPrices.find((p) => p.destinationPrefixes?.[0] === prefix && p.originationPrefixes?.[0] === from);
    expect(row('+44')).toMatchObject({ basePrice: '0.0161', currentPrice: '0.0100', friendlyName: 'United Kingdom' });
    // The child's shorter +44 does not hide the platform's longer +447 …
    expect(row('+447')).toMatchObject({ basePrice: '0.0390', currentPrice: '0.0390' });
    // … and its longer +4479 is a row of its own.
    expect(row('+4479')).toMatchObject({ basePrice: '0.0390', currentPrice: '0.0200' });
    expect(gb.inboundCallPrices.map((p) => [p.numberType, p.basePrice, p.currentPrice])).toEqual([
      ['local', '0.0100', '0.0100'],
      ['mobile', '0.0100', '0.0100'],
      ['toll free', '0.0575', '0.0575'],
    ]);
    // The parent sees platform prices (its subaccount's overrides are not its own).
    const gbParent = await asParent.pricing.v2.voice.countries('GB').fetch();
    expect(gbParent.outboundPrefixPrices.find((p) => p.destinationPrefixes?.[0] === '+44')?.currentPrice).toBe('0.0161');

    const mobile = await asSub.pricing.v2.voice.numbers('+447911123456').fetch();
    expect(mobile).toMatchObject({ destinationNumber: '+447911123456', isoCountry: 'GB', country: 'United Kingdom', priceUnit: 'USD' });
    expect(mobile.outboundCallPrices).toHaveLength(2);
    expect(mobile.outboundCallPrices).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ originationPrefixes: ['ALL'], basePrice: '0.0390', currentPrice: '0.0200' }),
        // From a UK number the platform's origination-restricted +447 is the base, but the child's +4479 is more specific.
        expect.objectContaining({ originationPrefixes: ['+44'], basePrice: '0.0300', currentPrice: '0.0200' }),
      ]),
    );
    expect(mobile.inboundCallPrice).toMatchObject({ numberType: 'mobile', basePrice: '0.0100', currentPrice: '0.0100' });
    const fromUk = await asSub.pricing.v2.voice.numbers('+447811123456').fetch({ originationNumber: '+442071234567' });
    expect(fromUk.originationNumber).toBe('+442071234567');
    expect(fromUk.outboundCallPrices).toEqual([expect.objectContaining({ originationPrefixes: ['+44'], basePrice: '0.0300', currentPrice: '0.0300' })]);

    // The raw answer names the deck and entry behind each current price.
    const raw = await fetch(`${cp.url}/v2/Voice/Numbers/+447911123456`, { headers: { Authorization: basic(sub.sid, sub.authToken) } });
    const body = (await raw.json()) as { outbound_call_prices: { decided_by: unknown }[] };
    expect(body.outbound_call_prices[0]?.decided_by).toMatchObject({ deck: 'account', account_sid: sub.sid, entry: { prefix: '+4479' } });

    // Errors: bad number 400 naming it, no country 404, no credentials 401.
    const bad = await fetch(`${cp.url}/v2/Voice/Numbers/abc`, { headers: { Authorization: basic(sub.sid, sub.authToken) } });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { message: string }).message).toMatch(/^Invalid parameter Destination/);
    expect((await fetch(`${cp.url}/v2/Voice/Numbers/+33612345678`, { headers: { Authorization: basic(sub.sid, sub.authToken) } })).status).toBe(404);
    expect((await fetch(`${cp.url}/v2/Voice/Countries/FR`, { headers: { Authorization: basic(sub.sid, sub.authToken) } })).status).toBe(404);
    expect((await fetch(`${cp.url}/v2/Voice/Countries`)).status).toBe(401);
  });

  it("the operator replaces a top-level account's deck (not a subaccount's) and the platform deck", async () => {
    const put = await operator('PUT', `/pricing/accounts/${parent.sid}`, { entries: [{ item: 'voice-outbound', prefix: '+91', price: '0.0300' }, { item: 'recording', price: '0.0020' }] });
    expect(put.status).toBe(200);
    expect(put.body.entries).toHaveLength(2);
    expect((await operator('GET', `/pricing/accounts/${parent.sid}`)).body.entries.map((e: { item: string }) => e.item)).toEqual(['recording', 'voice-outbound']);
    // The subaccount inherits its parent's deck where its own has nothing.
    const probe = await operator('GET', `/pricing/accounts/${sub.sid}/resolve?item=voice-outbound&destination=%2B919812345678`);
    expect(probe.body.decision).toMatchObject({ deck: 'parent', accountSid: parent.sid, price: '0.0300', entry: { prefix: '+91' } });
    // The platform's origination-restricted +91 (from India) is as long as the parent's +91 and more specific.
    const fromIndia = await operator('GET', `/pricing/accounts/${sub.sid}/resolve?item=voice-outbound&destination=%2B919812345678&origination=%2B918012345678`);
    expect(fromIndia.body.decision).toMatchObject({ deck: 'platform', price: '0.0120' });

    const ontoSub = await operator('PUT', `/pricing/accounts/${sub.sid}`, { entries: [] });
    expect(ontoSub).toMatchObject({ status: 400, body: { field: 'accountSid' } });
    expect(ontoSub.body.message).toMatch(/its parent sets its prices/);
    expect((await operator('PUT', `/pricing/accounts/AC${'0'.repeat(32)}`, { entries: [] })).status).toBe(404);
    const badEntry = await operator('PUT', `/pricing/accounts/${parent.sid}`, { entries: [{ item: 'voice-outbound', price: '0.01' }] });
    expect(badEntry).toMatchObject({ status: 400, body: { field: 'entries[0].prefix' } });
    const dup = await operator('PUT', `/pricing/accounts/${parent.sid}`, { entries: [{ item: 'recording', price: '0.01' }, { item: 'recording', price: '0.02' }] });
    expect(dup).toMatchObject({ status: 400, body: { field: 'entries[1]' } });

    // Platform deck: an incomplete one is refused naming what is missing; a complete one replaces it.
    const deck = loadPlatformDeck();
    const incomplete = { ...deck, entries: deck.entries.filter((e) => e.item !== 'media-branch') };
    expect(await operator('PUT', '/pricing/platform', incomplete)).toMatchObject({ status: 400, body: { field: 'entries' } });
    const before = (await operator('GET', '/pricing/platform')).body.version as number;
    const cheaper = { ...deck, entries: deck.entries.map((e) => (e.item === 'voice-outbound' && e.prefix === '+1' ? { ...e, price: '0.0110' } : e)) };
    const replaced = await operator('PUT', '/pricing/platform', cheaper);
    expect(replaced).toMatchObject({ status: 200, body: { version: before + 1, source: 'operator' } });
    const asSub = twilio(sub.sid, sub.authToken, { httpClient: new LocalRequestClient(cp.url) });
    const us = await asSub.pricing.v2.voice.numbers('+15551234567').fetch();
    expect(us.outboundCallPrices[0]).toMatchObject({ basePrice: '0.0110', currentPrice: '0.0110' });
    expect((await operator('POST', '/pricing/platform', cheaper)).status).toBe(405);
  });

  it('documents the new routes in OpenAPI', async () => {
    const doc = (await (await fetch(`${cp.url}/openapi.json`)).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/2010-04-01/Accounts/{AccountSid}/PriceOverrides',
        '/2010-04-01/Accounts/{AccountSid}/PriceOverrides/{Sid}',
        '/v2/Voice/Countries',
        '/v2/Voice/Countries/{IsoCountry}',
        '/v2/Voice/Numbers/{Destination}',
      ]),
    );
  });
});
