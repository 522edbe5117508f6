import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { newSecretsKey, parseSecretsKey, SecretBox } from '../../../../regions/auth/secret-box.js';

describe('parseSecretsKey', () => {
  it('reads 32 bytes as hex, base64 and base64url', () => {
    const key = randomBytes(32);
    expect(parseSecretsKey(key.toString('hex'))).toEqual(key);
    expect(parseSecretsKey(key.toString('base64'))).toEqual(key);
    expect(parseSecretsKey(key.toString('base64url'))).toEqual(key);
    expect(parseSecretsKey(newSecretsKey())).toHaveLength(32);
  });

  it('refuses other lengths and text, naming the key but not the value', () => {
    for (const bad of ['', 'short', randomBytes(16).toString('hex'), randomBytes(31).toString('base64'), 'z'.repeat(64)]) {
      expect(() => parseSecretsKey(bad)).toThrow(/secretsKey: must be 32 bytes/);
    }
    try {
      parseSecretsKey('not-the-right-length-secret');
    } catch (e) {
      expect((e as Error).message).not.toContain('not-the-right-length-secret');
    }
  });
});

describe('SecretBox', () => {
  const box = new SecretBox(randomBytes(32));

  it('opens what it sealed, for the same context only', () => {
    const sealed = box.seal('the secret', 'SK1');
    expect(sealed).not.toContain('the secret');
    expect(sealed.startsWith(`v1.${box.keyId}.`)).toBe(true);
    expect(box.open(sealed, 'SK1')).toEqual({ ok: true, plaintext: 'the secret' });
    expect(box.open(sealed, 'SK2')).toEqual({ ok: false, reason: 'corrupt' });
  });

  it('uses a fresh IV each time', () => {
    expect(box.seal('x', 'c')).not.toBe(box.seal('x', 'c'));
  });

  it('tells another platform key from damage', () => {
    const other = new SecretBox(randomBytes(32));
    const sealed = other.seal('s', 'c');
    expect(box.open(sealed, 'c')).toEqual({ ok: false, reason: 'other-key' });
    const mine = box.seal('s', 'c').split('.');
    const ct = Buffer.from(mine[3]!, 'base64url');
    ct[0] = ct[0]! ^ 1;
    mine[3] = ct.toString('base64url');
    expect(box.open(mine.join('.'), 'c')).toEqual({ ok: false, reason: 'corrupt' });
    for (const junk of ['', 'v1', 'v2.a.b.c.d', `v1.${box.keyId}.!!.b.c`, `v1.${box.keyId}.AAAA.b.c`, 'x'.repeat(10000)]) {
      expect(box.open(junk, 'c').ok).toBe(false);
    }
  });

  it('never shows its key when printed or serialised', () => {
    const raw = randomBytes(32);
    const b = new SecretBox(raw);
    const shown = inspect(b, { showHidden: true, depth: 5 }) + JSON.stringify({ b });
    expect(shown).not.toContain(raw.toString('hex'));
    expect(shown).not.toContain(raw.toString('base64'));
    expect(shown).not.toContain(raw.toString('base64url'));
    expect(shown).not.toContain('Buffer');
  });
});
