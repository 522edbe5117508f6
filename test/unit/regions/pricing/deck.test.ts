import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { countryOf, numberTypeOf, parseDeckEntry, parsePlatformDeck } from '../../../../regions/pricing/deck.js';
import { defaultPricesFile, loadPlatformDeck } from '../../../../regions/pricing/deck-file.js';

const shipped = (): any => JSON.parse(readFileSync(defaultPricesFile(), 'utf8'));

describe('price decks', () => {
  it('the shipped platform deck is complete and covers the catalog numbers (+1, +44, +91)', () => {
    const deck = loadPlatformDeck();
    expect(deck.countries.map((c) => c.isoCountry)).toEqual(['US', 'GB', 'IN']);
    for (const n of ['+15551234567', '+442071234567', '+918012345678']) expect(countryOf(deck.countries, n)).toBeDefined();
    const gb = countryOf(deck.countries, '+447911123456')!;
    expect(numberTypeOf(gb, '+447911123456')).toBe('mobile');
    expect(numberTypeOf(gb, '+448001234567')).toBe('toll free');
    expect(numberTypeOf(gb, '+442071234567')).toBe('local');
  });

  it('refuses an incomplete platform deck, naming what is missing', () => {
    const d = shipped();
    d.entries = d.entries.filter((e: any) => !(e.item === 'voice-outbound' && e.prefix === '+91' && e.originationPrefix === undefined));
    expect(() => parsePlatformDeck(d)).toThrow(/countries\[2\]: IN has no voice-outbound price for \+91/);
    const r = shipped();
    r.entries = r.entries.filter((e: any) => e.item !== 'recording');
    expect(() => parsePlatformDeck(r)).toThrow(/entries: no recording price/);
  });

  it('refuses entries outside every country, duplicates, and bad fields by name', () => {
    const d = shipped();
    d.entries.push({ item: 'voice-outbound', prefix: '+33', price: '0.02' });
    expect(() => parsePlatformDeck(d)).toThrow(/entries\[\d+\]\.prefix: \+33 is in no country/);
    const dup = shipped();
    dup.entries.push({ item: 'voice-outbound', prefix: '+1', price: '0.02' });
    expect(() => parsePlatformDeck(dup)).toThrow(/entries\[\d+\]: duplicate/);
    const bad = shipped();
    bad.entries[0].price = '-1';
    expect(() => parsePlatformDeck(bad)).toThrow(/entries\[0\]\.price: must be a decimal/);
  });

  it('entries: prefix required for voice items, refused for the others; origination only on voice-outbound; prefix bounded', () => {
    expect(() => parseDeckEntry({ item: 'voice-outbound', price: '0.01' })).toThrow(/entry\.prefix: required/);
    expect(() => parseDeckEntry({ item: 'recording', prefix: '+1', price: '0.01' })).toThrow(/entry\.prefix: recording has no prefix/);
    expect(() => parseDeckEntry({ item: 'voice-inbound-local', prefix: '+1', originationPrefix: '+1', price: '0.01' })).toThrow(/originationPrefix/);
    expect(() => parseDeckEntry({ item: 'voice-outbound', prefix: '+1234567890123456', price: '0.01' })).toThrow(/entry\.prefix: must be \+ and 1 to 15 digits/);
    expect(parseDeckEntry({ item: 'voice-outbound', prefix: '+44', originationPrefix: '+44', price: '0.01' })).toMatchObject({ originationPrefix: '+44' });
  });
});
