import { describe, expect, it } from 'vitest';
import { clientIdentityOf, isClientIdentity } from '../../../../regions/core/client-identity.js';

describe('client identity (the dialect format)', () => {
  it('accepts names of up to 256 characters without space, control, delimiter or unwise characters', () => {
    for (const ok of ['alice', 'Alice_2', 'bob.smith@example.com', 'a-b+c', "o'neil", 'x'.repeat(256)]) expect(isClientIdentity(ok), ok).toBe(true);
    for (const bad of ['', 'a b', 'a\tb', 'a<b', 'a>b', 'a#b', 'a%b', 'a"b', 'a{b', 'a|b', 'a\\b', 'a^b', 'a[b', 'a`b', 'é', 'x'.repeat(257)]) {
      expect(isClientIdentity(bad), JSON.stringify(bad)).toBe(false);
    }
  });

  it('reads client:<identity> addresses only', () => {
    expect(clientIdentityOf('client:alice')).toBe('alice');
    expect(clientIdentityOf('client:')).toBeUndefined();
    expect(clientIdentityOf('client:a b')).toBeUndefined();
    expect(clientIdentityOf('+15551234567')).toBeUndefined();
    expect(clientIdentityOf('sip:client:alice@x')).toBeUndefined();
  });
});
