import { describe, expect, it } from 'vitest';
import { encodeClientBinding, encodeClientParams, parseClientBinding, relayableClientParams } from '../../../../signaling/clients/mesh-delivery.js';

const ACCOUNT = 'AC' + 'a1'.repeat(16);
const BINDING = 'f'.repeat(32);

describe('X-Mesh-Client-Binding (the binding a forwarded client call is for)', () => {
  it('round-trips account, identity (percent-encoded) and binding', () => {
    for (const identity of ['alice', 'bob.smith@example', "o'neil;x=1&y", 'a'.repeat(256)]) {
      const v = encodeClientBinding({ accountSid: ACCOUNT, identity, bindingId: BINDING });
      expect(v).not.toMatch(/[\s<>"]/);
      expect(parseClientBinding(v)).toEqual({ accountSid: ACCOUNT, identity, bindingId: BINDING });
    }
    expect(encodeClientBinding({ accountSid: ACCOUNT, identity: 'a;b', bindingId: BINDING })).toBe(`${ACCOUNT};identity=a%3Bb;binding=${BINDING}`);
  });

  it.each([
    ['not an account', `XX${'0'.repeat(32)};identity=a;binding=${BINDING}`],
    ['missing binding', `${ACCOUNT};identity=a`],
    ['bad percent-encoding', `${ACCOUNT};identity=%E0%A4%A;binding=${BINDING}`],
    ['identity with a space once decoded', `${ACCOUNT};identity=a%20b;binding=${BINDING}`],
    ['identity too long', `${ACCOUNT};identity=${'a'.repeat(257)};binding=${BINDING}`],
    ['binding not hex', `${ACCOUNT};identity=a;binding=xyz`],
    ['oversized', `${ACCOUNT};identity=${'a'.repeat(2000)};binding=${BINDING}`],
    ['extra parameter', `${ACCOUNT};identity=a;binding=${BINDING};evil=1`],
  ])('refuses %s', (_label, v) => {
    expect(parseClientBinding(v)).toBeUndefined();
  });
});

describe('X-Mesh-Client-Params', () => {
  it('encodes as a URL query, none when empty or over the bound', () => {
    expect(encodeClientParams(undefined)).toBeUndefined();
    expect(encodeClientParams([])).toBeUndefined();
    expect(encodeClientParams([{ name: 'ticket', value: '42 & more' }, { name: 'x', value: '' }])).toBe('ticket=42%20%26%20more&x=');
    expect(new URLSearchParams(encodeClientParams([{ name: 'n', value: 'ä=1;2' }])).get('n')).toBe('ä=1;2');
    expect(encodeClientParams(Array.from({ length: 16 }, (_, i) => ({ name: `p${i}`, value: '"'.repeat(512) })))).toBeUndefined();
  });

  it('relays only a bounded, query-shaped value', () => {
    expect(relayableClientParams('ticket=42%20%26%20more&x=')).toBe('ticket=42%20%26%20more&x=');
    expect(relayableClientParams(undefined)).toBeUndefined();
    expect(relayableClientParams('a=b\r\nX-Evil: 1')).toBeUndefined();
    expect(relayableClientParams('a=<b>')).toBeUndefined();
    expect(relayableClientParams('a='.padEnd(8193, 'b'))).toBeUndefined();
  });
});
