import { describe, expect, it } from 'vitest';
import { isMeshError } from '../../../../regions/core/errors.js';
import type { DeckEntry } from '../../../../regions/pricing/deck.js';
import { DeckIndex, resolvePrice, type DeckRef } from '../../../../regions/pricing/resolve.js';

const CHILD = 'AC' + 'c'.repeat(32);
const PARENT = 'AC' + 'p'.repeat(32);

const out = (prefix: string, price: string, extra: Partial<DeckEntry> = {}): DeckEntry => ({ item: 'voice-outbound', prefix, price, ...extra });

const platform: DeckEntry[] = [
  out('+44', '0.0161'),
  out('+447', '0.0390'),
  out('+447', '0.0300', { originationPrefix: '+44' }),
  out('+1', '0.0140'),
  { item: 'recording', price: '0.0025' },
];

function chain(child: DeckEntry[], parent: DeckEntry[]): DeckRef[] {
  return [
    { level: 'account', accountSid: CHILD, index: new DeckIndex(child) },
    { level: 'parent', accountSid: PARENT, index: new DeckIndex(parent) },
    { level: 'platform', index: new DeckIndex(platform) },
  ];
}

describe('price resolution over account, parent and platform decks', () => {
  it('falls back to the platform when no override matches, naming the deck and entry', () => {
    const d = resolvePrice(chain([], []), { item: 'voice-outbound', destination: '+15551230000' });
    expect(d).toMatchObject({ priceMicros: 14000, price: '0.0140', deck: 'platform', entry: { prefix: '+1' } });
    expect(d.accountSid).toBeUndefined();
  });

  it('a child override of a SHORTER prefix does not hide a longer platform prefix', () => {
    // child +44 = 0.0100; the platform's +447 (mobile) is longer and still decides for mobiles
    const c = chain([out('+44', '0.0100', { sid: 'POchild' })], []);
    expect(resolvePrice(c, { item: 'voice-outbound', destination: '+447911123456' })).toMatchObject({ deck: 'platform', entry: { prefix: '+447' }, priceMicros: 39000 });
    // … but it decides for the rest of +44
    expect(resolvePrice(c, { item: 'voice-outbound', destination: '+442071234567' })).toMatchObject({ deck: 'account', accountSid: CHILD, entry: { prefix: '+44', sid: 'POchild' }, priceMicros: 10000 });
  });

  it('a child override of a LONGER (or the same) prefix wins over the parent and platform', () => {
    const c = chain([out('+4479', '0.0200')], [out('+447', '0.0350')]);
    expect(resolvePrice(c, { item: 'voice-outbound', destination: '+447911123456' })).toMatchObject({ deck: 'account', entry: { prefix: '+4479' }, priceMicros: 20000 });
    // +4478… matches the parent's +447 (longer than anything but the platform's +447, which ties and loses to the nearer deck)
    expect(resolvePrice(c, { item: 'voice-outbound', destination: '+447811123456' })).toMatchObject({ deck: 'parent', accountSid: PARENT, entry: { prefix: '+447' }, priceMicros: 35000 });
    // same prefix in child and parent: the child (nearer) wins
    const same = chain([out('+447', '0.0210')], [out('+447', '0.0350')]);
    expect(resolvePrice(same, { item: 'voice-outbound', destination: '+447811123456' })).toMatchObject({ deck: 'account', priceMicros: 21000 });
  });

  it("a parent's longer prefix is not hidden by the child's shorter one", () => {
    const c = chain([out('+44', '0.0100')], [out('+4479', '0.0250')]);
    expect(resolvePrice(c, { item: 'voice-outbound', destination: '+447911123456' })).toMatchObject({ deck: 'parent', entry: { prefix: '+4479' } });
  });

  it('origination-restricted entries match only calls from their prefix, and are more specific at the same destination prefix', () => {
    const c = chain([], []);
    expect(resolvePrice(c, { item: 'voice-outbound', destination: '+447911123456', origination: '+442071234567' })).toMatchObject({ deck: 'platform', entry: { prefix: '+447', originationPrefix: '+44' }, priceMicros: 30000 });
    expect(resolvePrice(c, { item: 'voice-outbound', destination: '+447911123456', origination: '+15551234567' })).toMatchObject({ entry: { prefix: '+447' }, priceMicros: 39000 });
    // unknown origination: only unrestricted entries
    expect(resolvePrice(c, { item: 'voice-outbound', destination: '+447911123456' }).entry.originationPrefix).toBeUndefined();
  });

  it("a child's unrestricted override of the same prefix does not hide the platform's origination-restricted entry; a restricted one does", () => {
    const c = chain([out('+447', '0.0200')], []);
    expect(resolvePrice(c, { item: 'voice-outbound', destination: '+447911123456', origination: '+442071234567' })).toMatchObject({ deck: 'platform', priceMicros: 30000 });
    expect(resolvePrice(c, { item: 'voice-outbound', destination: '+447911123456', origination: '+15551234567' })).toMatchObject({ deck: 'account', priceMicros: 20000 });
    const restricted = chain([out('+447', '0.0150', { originationPrefix: '+44' })], []);
    expect(resolvePrice(restricted, { item: 'voice-outbound', destination: '+447911123456', origination: '+442071234567' })).toMatchObject({ deck: 'account', priceMicros: 15000 });
  });

  it('a longer destination prefix beats an origination-restricted shorter one', () => {
    const c = chain([out('+4479', '0.0220')], []);
    expect(resolvePrice(c, { item: 'voice-outbound', destination: '+447911123456', origination: '+442071234567' })).toMatchObject({ deck: 'account', entry: { prefix: '+4479' } });
  });

  it('items without prefix resolve to their single entry; overrides replace it', () => {
    expect(resolvePrice(chain([], []), { item: 'recording' })).toMatchObject({ deck: 'platform', priceMicros: 2500 });
    expect(resolvePrice(chain([], [{ item: 'recording', price: '0.002' }]), { item: 'recording' })).toMatchObject({ deck: 'parent', priceMicros: 2000 });
  });

  it('a missing platform entry is a clear NOT_FOUND, never a zero price', () => {
    let err: unknown;
    try {
      resolvePrice(chain([], []), { item: 'voice-outbound', destination: '+33612345678' });
    } catch (e) {
      err = e;
    }
    expect(isMeshError(err, 'NOT_FOUND')).toBe(true);
    expect((err as Error).message).toBe('no price for voice-outbound to +33612345678: no entry of the account, parent, platform decks matches');
    expect(() => resolvePrice(chain([], []), { item: 'media-branch' })).toThrow(/no price for media-branch/);
  });

  it('items do not leak into each other', () => {
    expect(() => resolvePrice(chain([], []), { item: 'voice-inbound-local', destination: '+15551234567' })).toThrow(/no price for voice-inbound-local/);
  });
});
