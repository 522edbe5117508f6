import { describe, expect, it } from 'vitest';
import { SipHeaders, serializeSipMessage } from '../../../../../signaling/sip/message/index.js';
import type { SipRequest, SipResponse } from '../../../../../signaling/sip/message/index.js';

function req(headers: [string, string][], body = Buffer.alloc(0)): SipRequest {
  return { type: 'request', method: 'MESSAGE', uri: 'sip:b@h', version: 'SIP/2.0', headers: new SipHeaders(headers), body };
}

describe('serializeSipMessage', () => {
  it('writes start line, canonical header names, CRLFs and the body', () => {
    const out = serializeSipMessage(req([['v', 'SIP/2.0/UDP h;branch=z9hG4bK1'], ['call-id', 'x']], Buffer.from('hi')));
    expect(out.toString()).toBe(
      'MESSAGE sip:b@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nCall-ID: x\r\nContent-Length: 2\r\n\r\nhi',
    );
  });

  it('replaces a wrong Content-Length in place and drops duplicates', () => {
    const out = serializeSipMessage(
      req([['Content-Length', '99'], ['Call-ID', 'x'], ['Content-Length', '7']], Buffer.from('abc')),
    ).toString();
    expect(out).toBe('MESSAGE sip:b@h SIP/2.0\r\nContent-Length: 3\r\nCall-ID: x\r\n\r\nabc');
  });

  it('writes a response status line and UTF-8 text; byte length counts UTF-8', () => {
    const res: SipResponse = {
      type: 'response', version: 'SIP/2.0', status: 200, reason: 'Très bien',
      headers: new SipHeaders([['Subject', 'café']]), body: Buffer.from('é'),
    };
    const out = serializeSipMessage(res);
    expect(out.toString('utf8')).toBe('SIP/2.0 200 Très bien\r\nSubject: café\r\nContent-Length: 2\r\n\r\né');
  });

  it('folds CR/LF inside values so a value cannot inject header lines', () => {
    const out = serializeSipMessage(req([['Subject', 'a\r\nVia: evil']])).toString();
    expect(out).toContain('Subject: a Via: evil\r\n');
    expect(out.split('\r\n').filter((l) => l.startsWith('Via:'))).toEqual([]);
  });
});
