import { describe, expect, it } from 'vitest';
import {
  BRANCH_MAGIC_COOKIE,
  SipParseError,
  createResponse,
  generateBranch,
  generateCallId,
  generateTag,
  getTag,
  parseSipMessage,
  reasonPhrase,
  serializeSipMessage,
} from '../../../../../signaling/sip/message/index.js';
import type { SipRequest } from '../../../../../signaling/sip/message/index.js';

const INVITE = [
  'INVITE sip:bob@biloxi.com SIP/2.0',
  'Via: SIP/2.0/UDP proxy.example.com;branch=z9hG4bK2',
  'Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK1;received=192.0.2.1',
  'Max-Forwards: 69',
  'To: Bob <sip:bob@biloxi.com>',
  'From: Alice <sip:alice@atlanta.com>;tag=1928301774',
  'Call-ID: a84b4c76e66710',
  'CSeq: 314159 INVITE',
  'Timestamp: 54',
  'Contact: <sip:alice@pc33.atlanta.com>',
  'Content-Length: 0',
  '',
  '',
].join('\r\n');

function invite(): SipRequest {
  const m = parseSipMessage(Buffer.from(INVITE));
  if (m.type !== 'request') throw new Error('expected request');
  return m;
}

describe('createResponse (RFC 3261 §8.2.6)', () => {
  it('copies Via (all, in order), From, To, Call-ID and CSeq and adds the To tag', () => {
    const res = createResponse(invite(), 180, undefined, { toTag: 'a6c85cf' });
    expect(res.reason).toBe('Ringing');
    expect(res.headers.getAll('Via')).toEqual([
      'SIP/2.0/UDP proxy.example.com;branch=z9hG4bK2',
      'SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK1;received=192.0.2.1',
    ]);
    expect(res.headers.get('From')).toBe('Alice <sip:alice@atlanta.com>;tag=1928301774');
    expect(getTag(res.headers.get('To')!)).toBe('a6c85cf');
    expect(res.headers.get('Call-ID')).toBe('a84b4c76e66710');
    expect(res.headers.get('CSeq')).toBe('314159 INVITE');
    expect(res.headers.has('Contact')).toBe(false);
    expect(res.headers.has('Timestamp')).toBe(false);
  });

  it('keeps an existing To tag and copies Timestamp into a 100 (§8.2.6.1)', () => {
    const req = invite();
    req.headers.set('To', 'Bob <sip:bob@biloxi.com>;tag=existing');
    const res = createResponse(req, 100, undefined, { toTag: 'other' });
    expect(getTag(res.headers.get('To')!)).toBe('existing');
    expect(res.headers.get('Timestamp')).toBe('54');
  });

  it('adds extra headers, body and Content-Type; the result serializes and parses', () => {
    const body = Buffer.from('v=0\r\n');
    const res = createResponse(invite(), 200, 'Fine', {
      toTag: 't',
      headers: [['Contact', '<sip:bob@192.0.2.4>']],
      body,
      contentType: 'application/sdp',
    });
    const back = parseSipMessage(serializeSipMessage(res));
    if (back.type !== 'response') throw new Error('expected response');
    expect(back.status).toBe(200);
    expect(back.reason).toBe('Fine');
    expect(back.headers.get('Content-Type')).toBe('application/sdp');
    expect(back.body.equals(body)).toBe(true);
  });

  it('answers the partial request of a SipParseError with 400', () => {
    let partial: SipRequest | undefined;
    try {
      parseSipMessage(Buffer.from(INVITE.replace('CSeq: 314159 INVITE', 'CSeq: 314159 BYE')));
    } catch (e) {
      partial = (e as SipParseError).partial;
    }
    expect(partial).toBeDefined();
    const res = createResponse(partial!, 400, (new SipParseError('CSeq method does not match')).reason);
    expect(serializeSipMessage(res).toString()).toMatch(/^SIP\/2.0 400 CSeq method does not match\r\n/);
  });

  it('has default reason phrases', () => {
    expect(reasonPhrase(487)).toBe('Request Terminated');
    expect(reasonPhrase(299)).toBe('Success');
  });
});

describe('identifiers', () => {
  it('generates unique branches with the magic cookie (§8.1.1.7), tags and Call-IDs', () => {
    const branches = new Set(Array.from({ length: 2000 }, () => generateBranch()));
    expect(branches.size).toBe(2000);
    for (const b of branches) expect(b.startsWith(BRANCH_MAGIC_COOKIE) && /^[A-Za-z0-9_-]+$/.test(b)).toBe(true);
    const tags = new Set(Array.from({ length: 2000 }, () => generateTag()));
    expect(tags.size).toBe(2000);
    expect(generateCallId('127.0.1.1')).toMatch(/^[A-Za-z0-9_-]{20}@127\.0\.1\.1$/);
  });
});
