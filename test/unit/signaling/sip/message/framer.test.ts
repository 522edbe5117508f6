import { describe, expect, it, vi } from 'vitest';
import { SipParseError, SipStreamFramer, parseSipMessage } from '../../../../../signaling/sip/message/index.js';

function message(callId: string, body = '', withLength = true): string {
  return [
    'MESSAGE sip:b@h SIP/2.0',
    'Via: SIP/2.0/TCP h;branch=z9hG4bK1',
    'From: <sip:a@h>;tag=1',
    'To: <sip:b@h>',
    `Call-ID: ${callId}`,
    'CSeq: 1 MESSAGE',
    ...(withLength ? [`Content-Length: ${Buffer.byteLength(body)}`] : []),
    '',
    body,
  ].join('\r\n');
}

describe('SipStreamFramer (RFC 3261 §18.3)', () => {
  it('cuts several messages out of one chunk', () => {
    const f = new SipStreamFramer();
    const out = f.push(Buffer.from(message('a', 'hello') + message('b') + message('c', 'xyz')));
    expect(out.map((b) => parseSipMessage(b).headers.get('Call-ID'))).toEqual(['a', 'b', 'c']);
    expect(parseSipMessage(out[0]!).body.toString()).toBe('hello');
    expect(f.buffered).toBe(0);
  });

  it('reassembles a message delivered one byte at a time', () => {
    const f = new SipStreamFramer();
    const wire = Buffer.from(message('slow', 'body-bytes'));
    const out: Buffer[] = [];
    for (let i = 0; i < wire.length; i++) out.push(...f.push(wire.subarray(i, i + 1)));
    expect(out).toHaveLength(1);
    expect(out[0]!.equals(wire)).toBe(true);
  });

  it('returns each message exactly, even when the body contains CRLFCRLF', () => {
    const f = new SipStreamFramer();
    const a = message('a', '\r\n\r\nX\r\n\r\n');
    const out = f.push(Buffer.from(a + message('b')));
    expect(out[0]!.toString()).toBe(a);
  });

  it('skips CRLF keep-alives between messages and reports double-CRLF pings (RFC 5626 §3.5.1)', () => {
    const onKeepAlive = vi.fn();
    const f = new SipStreamFramer(undefined, { onKeepAlive });
    expect(f.push(Buffer.from('\r\n\r\n'))).toEqual([]);
    expect(onKeepAlive).toHaveBeenCalledTimes(1);
    const out = f.push(Buffer.from('\r\n' + message('a') + '\r\n\r\n' + message('b')));
    expect(out.map((b) => parseSipMessage(b).headers.get('Call-ID'))).toEqual(['a', 'b']);
    expect(onKeepAlive).toHaveBeenCalledTimes(2);
  });

  it('treats a missing Content-Length as 0', () => {
    const f = new SipStreamFramer();
    const out = f.push(Buffer.from(message('a', '', false) + message('b')));
    expect(out).toHaveLength(2);
    expect(parseSipMessage(out[0]!).body.length).toBe(0);
  });

  it('finds compact and folded Content-Length', () => {
    const f = new SipStreamFramer();
    const wire = message('a', 'abcd').replace('Content-Length: 4', 'l :\r\n 4');
    expect(f.push(Buffer.from(wire + message('b')))).toHaveLength(2);
  });

  it('throws on a bad or repeated Content-Length and stays failed', () => {
    const f = new SipStreamFramer();
    expect(() => f.push(Buffer.from(message('a').replace('Content-Length: 0', 'Content-Length: -5')))).toThrow(SipParseError);
    expect(() => f.push(Buffer.from(message('b')))).toThrow(SipParseError);
    const g = new SipStreamFramer();
    expect(() => g.push(Buffer.from(message('a').replace('Content-Length: 0', 'Content-Length: 0\r\nl: 0')))).toThrow(
      /Multiple Content-Length/,
    );
    f.reset();
    expect(f.push(Buffer.from(message('c')))).toHaveLength(1);
  });

  it('bounds the header section and the whole message', () => {
    const limits = { maxMessageBytes: 500, maxHeaders: 50, maxLineBytes: 400 };
    const f = new SipStreamFramer(limits);
    expect(() => f.push(Buffer.from('INVITE sip:a@b SIP/2.0\r\nX: ' + 'y'.repeat(600)))).toThrow(SipParseError);
    const g = new SipStreamFramer(limits);
    expect(() => g.push(Buffer.from(message('a').replace('Content-Length: 0', 'Content-Length: 100000')))).toThrow(
      /Too Large/,
    );
  });
});
