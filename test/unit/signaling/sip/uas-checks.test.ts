/**
 * RFC 3261 §8.2.2 checks the stack runs before the TU: 416 for a
 * Request-URI scheme it does not serve, 420 + Unsupported for required
 * extensions. Pure checks first, then a real SipStack on loopback
 * (127.0.6.3, raw peer 127.0.6.4) to show the TU never sees such requests
 * and the answer is the transaction's (retransmissions get it again).
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SipHeaders, createResponse } from '../../../../signaling/sip/message/index.js';
import type { SipRequest } from '../../../../signaling/sip/message/types.js';
import { SipStack } from '../../../../signaling/sip/stack.js';
import { SUPPORTED_OPTION_TAGS, checkUasRequest, uasRejectionResponse } from '../../../../signaling/sip/uas-checks.js';

function req(method: string, uri: string, extra: [string, string][] = []): SipRequest {
  const h = new SipHeaders();
  h.append('Via', 'SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKu1');
  h.append('From', '<sip:a@example.com>;tag=1');
  h.append('To', '<sip:b@example.com>');
  h.append('Call-ID', 'u1');
  h.append('CSeq', `1 ${method}`);
  for (const [n, v] of extra) h.append(n, v);
  return { type: 'request', method, uri, version: 'SIP/2.0', headers: h, body: Buffer.alloc(0) };
}

describe('checkUasRequest', () => {
  it('416 for a Request-URI scheme other than sip, sips, tel (RFC 3261 §8.2.2.1; RFC 4475 §3.3.2, §3.3.3)', () => {
    expect(checkUasRequest(req('OPTIONS', 'nobodyKnowsThisScheme:totallyopaquecontent'))?.status).toBe(416);
    expect(checkUasRequest(req('OPTIONS', 'soap.beep://192.0.2.103:3002'))?.status).toBe(416);
    expect(checkUasRequest(req('INVITE', 'http://example.com/'))?.status).toBe(416);
    for (const uri of ['sip:b@example.com', 'SIPS:b@example.com', 'tel:+15551234567']) expect(checkUasRequest(req('INVITE', uri))).toBeUndefined();
  });

  it('420 listing exactly the Require tags not supported, on OPTIONS and INVITE; Proxy-Require is not the UAS\'s (§8.2.2.3)', () => {
    const r = checkUasRequest(
      req('OPTIONS', 'sip:b@example.com', [
        ['Require', 'nothingSupportsThis, nothingSupportsThisEither'],
        ['Proxy-Require', 'noProxiesSupportThis'],
      ]),
    );
    expect(r).toEqual({ status: 420, reason: 'Bad Extension', headers: [['Unsupported', 'nothingSupportsThis, nothingSupportsThisEither']] });
    const inv = checkUasRequest(req('INVITE', 'sip:b@example.com', [['Require', '100rel'], ['Require', 'timer, 100rel']]));
    expect(inv?.headers).toEqual([['Unsupported', '100rel, timer']]);
    expect(checkUasRequest(req('INVITE', 'sip:b@example.com', [['Proxy-Require', 'foo']]))).toBeUndefined();
  });

  it('a tag the stack supports passes (compared case-insensitively); the supported list is empty today', () => {
    expect(SUPPORTED_OPTION_TAGS).toEqual([]);
    expect(checkUasRequest(req('INVITE', 'sip:b@example.com', [['Require', 'Timer']]), ['timer'])).toBeUndefined();
    expect(checkUasRequest(req('INVITE', 'sip:b@example.com', [['Require', 'timer, path']]), ['timer'])?.headers).toEqual([['Unsupported', 'path']]);
  });

  it('ACK and CANCEL are never checked (§8.2.2.3, §17.2.3); a non-token Require is a bad request', () => {
    expect(checkUasRequest(req('ACK', 'foo:bar', [['Require', 'x']]))).toBeUndefined();
    expect(checkUasRequest(req('CANCEL', 'sip:b@example.com', [['Require', 'x']]))).toBeUndefined();
    expect(checkUasRequest(req('OPTIONS', 'sip:b@example.com', [['Require', 'a b']]))?.status).toBe(400);
  });

  it('the response adds a To tag and carries Unsupported', () => {
    const r = req('OPTIONS', 'sip:b@example.com', [['Require', 'x']]);
    const res = uasRejectionResponse(r, checkUasRequest(r)!);
    expect(res.status).toBe(420);
    expect(res.headers.get('To')).toMatch(/;tag=/);
    expect(res.headers.get('Unsupported')).toBe('x');
  });
});

describe('SipStack refuses before the TU sees the request', () => {
  const LOCAL = '127.0.6.3';
  const PEER = '127.0.6.4';
  let stack: SipStack;
  let peer: UdpSocket;
  const got: string[] = [];
  const seenByTu: string[] = [];

  beforeAll(async () => {
    stack = await SipStack.start({ address: LOCAL, port: 0, transports: ['UDP'] });
    stack.onRequest((r, tx) => {
      seenByTu.push(r.headers.get('Call-ID') ?? '');
      tx?.respond(createResponse(r, 200, 'OK', { toTag: 't' }));
    });
    peer = createSocket('udp4');
    peer.on('message', (b) => got.push(b.toString('latin1')));
    await new Promise<void>((r) => peer.bind(0, PEER, () => r()));
  });

  afterAll(async () => {
    peer.close();
    await stack.close();
  });

  const send = (method: string, uri: string, callId: string, extra = ''): void => {
    const port = peer.address().port;
    const m =
      `${method} ${uri} SIP/2.0\r\nVia: SIP/2.0/UDP ${PEER}:${port};branch=z9hG4bK${callId}\r\nMax-Forwards: 70\r\n` +
      `From: <sip:a@${PEER}>;tag=f\r\nTo: <sip:b@${LOCAL}>\r\nCall-ID: ${callId}\r\nCSeq: 1 ${method}\r\n${extra}Content-Length: 0\r\n\r\n`;
    peer.send(m, stack.localEndpoint('UDP').port, LOCAL);
  };
  const answerTo = (callId: string): string | undefined => got.find((g) => !g.startsWith('SIP/2.0 1') && g.includes(`\r\nCall-ID: ${callId}\r\n`));
  const until = async (cond: () => boolean): Promise<void> => {
    const end = Date.now() + 2000;
    while (!cond()) {
      if (Date.now() > end) throw new Error('condition not met in time');
      await new Promise((r) => setTimeout(r, 5));
    }
  };

  it('416, 420 (OPTIONS and INVITE) and a plain 200, counted by status; retransmissions get the same answer', async () => {
    send('OPTIONS', 'nobodyKnowsThisScheme:totallyopaquecontent', 'unk');
    send('OPTIONS', `sip:b@${LOCAL}`, 'bext', 'Require: nothingSupportsThis, nothingSupportsThisEither\r\nProxy-Require: noProxiesSupportThis\r\n');
    send('INVITE', `sip:b@${LOCAL}`, 'inv', 'Require: 100rel\r\n');
    send('OPTIONS', `sip:b@${LOCAL}`, 'fine');
    await until(() => ['unk', 'bext', 'inv', 'fine'].every((c) => answerTo(c) !== undefined));
    expect(answerTo('unk')).toMatch(/^SIP\/2\.0 416 Unsupported URI Scheme\r\n/);
    expect(answerTo('bext')).toMatch(/^SIP\/2\.0 420 Bad Extension\r\n/);
    expect(answerTo('bext')).toContain('\r\nUnsupported: nothingSupportsThis, nothingSupportsThisEither\r\n');
    expect(answerTo('bext')).not.toContain('noProxiesSupportThis');
    expect(answerTo('inv')).toMatch(/^SIP\/2\.0 420 /);
    expect(answerTo('fine')).toMatch(/^SIP\/2\.0 200 /);
    expect(seenByTu).toEqual(['fine']);
    expect(stack.counters.rejected).toEqual({ '416': 1, '420': 2 });

    // A retransmission matches the server transaction and gets the same 416 (RFC 3261 §17.2.3).
    const before = got.length;
    const again = (): string[] => got.slice(before).filter((g) => g.includes('\r\nCall-ID: unk\r\n'));
    send('OPTIONS', 'nobodyKnowsThisScheme:totallyopaquecontent', 'unk');
    await until(() => again().length > 0);
    expect(again()).toEqual([expect.stringMatching(/^SIP\/2\.0 416 /)]);
    expect(stack.counters.rejected['416']).toBe(1);
  });
});
