import { describe, expect, it } from 'vitest';
import { ownOptional, ownString } from '../../../../../signaling/sip/message/index.js';
import { keepSent } from '../../../../../signaling/sip/transaction/index.js';

describe('keeping message parts past the message', () => {
  it('ownString copies short and long values unchanged', () => {
    const text = 'INVITE sip:bob@example.com SIP/2.0\r\nCall-ID: a84b4c76e66710@pc33.atlanta.com\r\n';
    const start = text.indexOf('a84b');
    const callId = text.slice(start, text.indexOf('\r\n', start));
    expect(ownString(callId)).toBe('a84b4c76e66710@pc33.atlanta.com');
    expect(ownString('abc')).toBe('abc');
    expect(ownString('')).toBe('');
    expect(ownOptional(undefined)).toBeUndefined();
    expect(ownOptional('1234567890abcdef')).toBe('1234567890abcdef');
  });

  it('keepSent keeps the exact bytes, UTF-8 included, as a latin1 string', () => {
    const bytes = Buffer.from('SIP/2.0 200 OK\r\nFrom: "Zoë Ωmega" <sip:z@example.com>;tag=1\r\n\r\n', 'utf8');
    const kept = keepSent({ bytes, dest: { transport: 'UDP', address: '127.0.0.1', port: 5060 } });
    expect(typeof kept.bytes).toBe('string');
    expect(Buffer.from(kept.bytes as string, 'latin1').equals(bytes)).toBe(true);
    expect(keepSent(kept)).toBe(kept);
  });
});
