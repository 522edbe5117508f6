import { describe, expect, it } from 'vitest';
import {
  DEFAULT_SIP_LIMITS,
  SipParseError,
  parseSipMessage,
  serializeSipMessage,
} from '../../../../../signaling/sip/message/index.js';
import type { SipMessage, SipRequest } from '../../../../../signaling/sip/message/index.js';

const CRLF = '\r\n';

function msg(lines: string[], body = ''): Buffer {
  return Buffer.from(lines.join(CRLF) + CRLF + CRLF + body, 'utf8');
}

const INVITE_HEADERS = [
  'INVITE sip:bob@example.com SIP/2.0',
  'Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKabc',
  'Max-Forwards: 70',
  'From: "Alice" <sip:alice@example.com>;tag=1928',
  'To: <sip:bob@example.com>',
  'Call-ID: a84b4c76e66710@pc33.example.com',
  'CSeq: 314159 INVITE',
  'Contact: <sip:alice@192.0.2.1>',
];

function request(m: SipMessage): SipRequest {
  if (m.type !== 'request') throw new Error('expected a request');
  return m;
}

function parseError(buf: Buffer, limits = DEFAULT_SIP_LIMITS): SipParseError {
  try {
    parseSipMessage(buf, limits);
  } catch (e) {
    if (e instanceof SipParseError) return e;
    throw e;
  }
  throw new Error('expected SipParseError');
}

describe('parseSipMessage: start lines', () => {
  it('parses a request line and headers', () => {
    const m = request(parseSipMessage(msg([...INVITE_HEADERS, 'Content-Length: 4'], 'abcd')));
    expect(m.method).toBe('INVITE');
    expect(m.uri).toBe('sip:bob@example.com');
    expect(m.version).toBe('SIP/2.0');
    expect(m.headers.get('call-id')).toBe('a84b4c76e66710@pc33.example.com');
    expect(m.body.toString()).toBe('abcd');
  });

  it('parses a status line, keeping spaces inside the reason phrase', () => {
    const m = parseSipMessage(
      msg([
        'SIP/2.0 486 Busy  Here',
        'Via: SIP/2.0/UDP h;branch=z9hG4bK1',
        'From: <sip:a@h>;tag=1',
        'To: <sip:b@h>;tag=2',
        'Call-ID: x',
        'CSeq: 1 INVITE',
        'Content-Length: 0',
      ]),
    );
    expect(m.type).toBe('response');
    if (m.type !== 'response') return;
    expect(m.status).toBe(486);
    expect(m.reason).toBe('Busy  Here');
  });

  it('rejects a status code that is not three digits or out of range', () => {
    const base = ['Via: SIP/2.0/UDP h;branch=z9hG4bK1', 'From: <sip:a@h>;tag=1', 'To: <sip:b@h>', 'Call-ID: x', 'CSeq: 1 INVITE'];
    expect(parseError(msg(['SIP/2.0 99 Low', ...base])).reason).toBe('Malformed Status-Line');
    expect(parseError(msg(['SIP/2.0 700 High', ...base])).reason).toBe('Malformed Status-Line');
    expect(parseError(msg(['SIP/2.0 2000 OK', ...base])).reason).toBe('Malformed Status-Line');
  });

  it('answers an unsupported version with status 505 and a partial request', () => {
    const lines = [...INVITE_HEADERS];
    lines[0] = 'INVITE sip:bob@example.com SIP/3.0';
    const e = parseError(msg(lines));
    expect(e.status).toBe(505);
    expect(e.partial?.method).toBe('INVITE');
  });

  it('skips leading CRLFs before the start line (RFC 3261 §7.5)', () => {
    const m = request(parseSipMessage(Buffer.concat([Buffer.from('\r\n\r\n'), msg(INVITE_HEADERS)])));
    expect(m.method).toBe('INVITE');
  });

  it('accepts bare LF line ends', () => {
    const m = request(parseSipMessage(Buffer.from(INVITE_HEADERS.join('\n') + '\n\nxy')));
    expect(m.body.toString()).toBe('xy');
  });
});

describe('parseSipMessage: headers', () => {
  it('keeps extension headers named like Object.prototype members as plain headers', () => {
    const m = parseSipMessage(msg(['OPTIONS sip:b@h SIP/2.0', 'Via: SIP/2.0/UDP h;branch=z9hG4bK1', 'f: <sip:a@h>;tag=1', 't: <sip:b@h>', 'i: abc', 'CSeq: 1 OPTIONS', 'constructor: a', '__proto__: b', 'toString: c', 'l: 0']));
    expect([...m.headers.entries()].map((f) => f.name)).toEqual(['Via', 'From', 'To', 'Call-ID', 'CSeq', 'constructor', '__proto__', 'toString', 'Content-Length']);
    expect(m.headers.get('constructor')).toBe('a');
    expect(m.headers.get('__proto__')).toBe('b');
  });

  it('expands compact header names and allows whitespace before the colon', () => {
    const m = parseSipMessage(
      msg([
        'OPTIONS sip:b@h SIP/2.0',
        'v : SIP/2.0/UDP h;branch=z9hG4bK1',
        'f: <sip:a@h>;tag=1',
        't:<sip:b@h>',
        'i: abc',
        'CSeq  :  2 OPTIONS',
        'l: 0',
      ]),
    );
    expect(m.headers.get('Via')).toBe('SIP/2.0/UDP h;branch=z9hG4bK1');
    expect(m.headers.get('From')).toBe('<sip:a@h>;tag=1');
    expect(m.headers.get('To')).toBe('<sip:b@h>');
    expect(m.headers.get('Call-ID')).toBe('abc');
    expect(m.headers.get('CSeq')).toBe('2 OPTIONS');
    expect(m.headers.get('Content-Length')).toBe('0');
  });

  it('unfolds continuation lines into one value', () => {
    const m = parseSipMessage(
      msg([
        ...INVITE_HEADERS,
        'Subject: I know you are there,',
        '         pick up the phone',
        '\tand talk to me!',
      ]),
    );
    expect(m.headers.get('Subject')).toBe('I know you are there, pick up the phone and talk to me!');
  });

  it('keeps repeated and comma-separated list headers in order', () => {
    const m = parseSipMessage(
      msg([
        'OPTIONS sip:b@h SIP/2.0',
        'Via: SIP/2.0/UDP a;branch=z9hG4bK1, SIP/2.0/UDP b;branch=z9hG4bK2',
        'Via: SIP/2.0/TCP c;branch=z9hG4bK3',
        'From: <sip:a@h>;tag=1',
        'To: <sip:b@h>',
        'Call-ID: abc',
        'CSeq: 2 OPTIONS',
      ]),
    );
    expect(m.headers.getList('Via')).toEqual([
      'SIP/2.0/UDP a;branch=z9hG4bK1',
      'SIP/2.0/UDP b;branch=z9hG4bK2',
      'SIP/2.0/TCP c;branch=z9hG4bK3',
    ]);
  });

  it('decodes UTF-8 header values', () => {
    const m = parseSipMessage(msg([...INVITE_HEADERS, 'Subject: Grüße, 世界']));
    expect(m.headers.get('Subject')).toBe('Grüße, 世界');
  });

  it('requires Via, From, To, Call-ID and CSeq; Max-Forwards may be absent', () => {
    for (const name of ['Via', 'From', 'To', 'Call-ID', 'CSeq']) {
      const lines = INVITE_HEADERS.filter((l) => !l.startsWith(`${name}:`));
      const e = parseError(msg(lines));
      expect(e.reason).toBe(`Missing ${name} header`);
      // With a Via the request can still be answered 400 (RFC 4475 §3.3.1); without one it cannot.
      expect(e.partial === undefined, name).toBe(name === 'Via');
    }
    const noMf = INVITE_HEADERS.filter((l) => !l.startsWith('Max-Forwards'));
    expect(request(parseSipMessage(msg(noMf))).method).toBe('INVITE');
  });

  it('rejects a CSeq method that differs from the request method, with a partial request', () => {
    const lines = INVITE_HEADERS.map((l) => (l.startsWith('CSeq') ? 'CSeq: 1 BYE' : l));
    const e = parseError(msg(lines));
    expect(e.reason).toBe('CSeq method does not match');
    expect(e.code).toBe('BAD_REQUEST');
    expect(e.sipStatus).toBe(400);
    expect(e.partial?.headers.get('Call-ID')).toBe('a84b4c76e66710@pc33.example.com');
  });

  it('a malformed Request-Line still yields a partial request when method and Via are readable (RFC 4475 §3.1.2.8–10)', () => {
    const body = INVITE_HEADERS.slice(1);
    for (const line of ['INVITE sip:bob@biloxi.com; lr SIP/2.0', 'INVITE  sip:bob@biloxi.com  SIP/2.0', 'INVITE sip:bob@biloxi.com SIP/2.0  ']) {
      const e = parseError(msg([line, ...body]));
      expect(e.reason).toBe('Malformed Request-Line');
      expect(e.status).toBe(400);
      expect(e.partial?.method, line).toBe('INVITE');
      expect(e.partial?.headers.get('Call-ID')).toBe('a84b4c76e66710@pc33.example.com');
    }
    // No Via: nothing to answer with; an unreadable method: nothing to answer to.
    expect(parseError(msg(['INVITE  sip:bob@biloxi.com SIP/2.0', ...body.filter((l) => !l.startsWith('Via:'))])).partial).toBeUndefined();
    expect(parseError(msg(['IN<VITE sip:bob@biloxi.com SIP/2.0 x', ...body])).partial).toBeUndefined();
    // A Status-Line is never turned into a request.
    expect(parseError(msg(['SIP/2.0 20 OK', ...body])).partial).toBeUndefined();
  });

  it('rejects bad Max-Forwards and a header line without a colon', () => {
    const mf = INVITE_HEADERS.map((l) => (l.startsWith('Max-Forwards') ? 'Max-Forwards: 256' : l));
    expect(parseError(msg(mf)).reason).toBe('Bad Max-Forwards');
    const e = parseError(msg([...INVITE_HEADERS, 'This is not a header']));
    expect(e.reason).toBe('Malformed header line');
    expect(e.partial).toBeDefined();
  });
});

describe('parseSipMessage: Content-Length framing (RFC 3261 §18.3, §20.14)', () => {
  it('takes exactly Content-Length bytes and discards the rest of a datagram', () => {
    const m = parseSipMessage(msg([...INVITE_HEADERS, 'Content-Length: 3'], 'abcdef'));
    expect(m.body.toString()).toBe('abc');
  });

  it('takes the rest of the datagram when Content-Length is absent', () => {
    const m = parseSipMessage(msg(INVITE_HEADERS, 'v=0\r\n'));
    expect(m.body.toString()).toBe('v=0\r\n');
  });

  it('rejects a Content-Length larger than the bytes present', () => {
    const e = parseError(msg([...INVITE_HEADERS, 'Content-Length: 10'], 'abc'));
    expect(e.reason).toBe('Bad Content-Length');
    expect(e.partial).toBeDefined();
  });

  it('rejects negative, non-numeric and repeated Content-Length', () => {
    expect(parseError(msg([...INVITE_HEADERS, 'Content-Length: -1'])).reason).toBe('Bad Content-Length');
    expect(parseError(msg([...INVITE_HEADERS, 'Content-Length: 1a'])).reason).toBe('Bad Content-Length');
    expect(parseError(msg([...INVITE_HEADERS, 'Content-Length: 0', 'l: 0'])).reason).toBe('Multiple Content-Length values');
  });

  it('rejects a message without the empty line that ends the headers', () => {
    expect(parseError(Buffer.from(INVITE_HEADERS.join(CRLF))).reason).toBe('Incomplete header section');
  });
});

describe('parseSipMessage: limits', () => {
  const small = { maxMessageBytes: 2000, maxHeaders: 12, maxLineBytes: 200 };

  it('rejects an oversize message with status 513', () => {
    const e = parseError(msg(INVITE_HEADERS, 'x'.repeat(3000)), small);
    expect(e.status).toBe(513);
  });

  it('rejects too many headers', () => {
    const extra = Array.from({ length: 10 }, (_, i) => `X-H${i}: ${i}`);
    expect(parseError(msg([...INVITE_HEADERS, ...extra]), small).reason).toBe('Too many headers');
  });

  it('rejects an over-long (unfolded) header line', () => {
    const folded = ['Subject: start', ...Array.from({ length: 10 }, () => ` ${'y'.repeat(30)}`)];
    expect(parseError(msg([...INVITE_HEADERS, ...folded]), small).reason).toBe('Header line too long');
  });

  it('stays linear on hostile input (no backtracking)', () => {
    const hostile = Buffer.from('INVITE sip:a@b SIP/2.0\r\nX: ' + '"\\'.repeat(20000) + '\r\n\r\n');
    const t0 = performance.now();
    expect(() => parseSipMessage(hostile, { ...DEFAULT_SIP_LIMITS, maxLineBytes: 65535 })).toThrow(SipParseError);
    expect(performance.now() - t0).toBeLessThan(200);
  });
});

describe('parse → serialize → parse', () => {
  it('round-trips a request with body, rewriting Content-Length to the body length', () => {
    const first = parseSipMessage(msg([...INVITE_HEADERS, 'Content-Type: application/sdp', 'Content-Length: 5'], 'v=0\r\n'));
    first.body = Buffer.from('v=0\r\no=x\r\n');
    const wire = serializeSipMessage(first);
    const second = request(parseSipMessage(wire));
    expect(second.headers.get('Content-Length')).toBe(String(first.body.length));
    expect(second.body.equals(first.body)).toBe(true);
    expect([...second.headers.entries()].filter((f) => f.name !== 'Content-Length')).toEqual(
      [...first.headers.entries()].filter((f) => f.name !== 'Content-Length'),
    );
    // A second pass is byte-identical.
    expect(serializeSipMessage(second).equals(wire)).toBe(true);
  });
});
