import { describe, expect, it } from 'vitest';
import { isWellFormedForm } from '../../../../control-plane/api/middleware/body.js';

const enc = (s: string) => new TextEncoder().encode(s);

describe('isWellFormedForm', () => {
  it('accepts what URLSearchParams writes, including UTF-8', () => {
    expect(isWellFormedForm(enc(new URLSearchParams({ To: '+1555', FriendlyName: 'Zoë & co' }).toString()))).toBe(true);
    expect(isWellFormedForm(enc('a=1&a=2&b='))).toBe(true);
  });
  it('refuses broken escapes and escapes that decode to invalid UTF-8', () => {
    expect(isWellFormedForm(enc('a=%G1'))).toBe(false);
    expect(isWellFormedForm(enc('a=100%'))).toBe(false);
    expect(isWellFormedForm(enc('a=%C3%28'))).toBe(false);
  });
});
