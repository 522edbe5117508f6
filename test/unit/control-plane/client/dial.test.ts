import { describe, expect, it } from 'vitest';
import { DTMF_KEYS, isDtmfKey, readDialTarget } from '../../../../control-plane/client/dial.js';

describe('readDialTarget', () => {
  it.each([
    ['+15551234567', 'number', '+15551234567'],
    [' +1 (555) 123-45.67 ', 'number', '+15551234567'],
    ['911', 'number', '911'],
    ['*72#', 'number', '*72#'],
    ['client:alice', 'client', 'client:alice'],
    ['Client:bob.smith@example', 'client', 'client:bob.smith@example'],
  ])('%s → %s %s', (text, kind, user) => {
    expect(readDialTarget(text)).toEqual({ ok: true, kind, user });
  });

  it.each([
    ['', 'nothing to dial'],
    ['   ', 'nothing to dial'],
    ['client:', 'is not a client identity'],
    ['client:a b', 'is not a client identity'],
    ['client:' + 'x'.repeat(122), 'is not a client identity'],
    ['+0123', 'neither a phone number'],
    ['+1234567890123456', 'neither a phone number'],
    ['sip:bob@evil.example', 'neither a phone number'],
    ['alice', 'neither a phone number'],
  ])('refuses %j: %s', (text, reason) => {
    const r = readDialTarget(text);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.reason).toContain(reason);
  });
});

describe('DTMF keys', () => {
  it('has the twelve keypad keys, each a valid RFC 4733 event', () => {
    expect(DTMF_KEYS.join('')).toBe('123456789*0#');
    for (const k of DTMF_KEYS) expect(isDtmfKey(k)).toBe(true);
    for (const k of ['A', 'd']) expect(isDtmfKey(k)).toBe(true);
    for (const k of ['', 'E', '12', ' ', '+']) expect(isDtmfKey(k)).toBe(false);
  });
});
