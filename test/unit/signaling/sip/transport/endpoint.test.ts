import { describe, expect, it } from 'vitest';
import { isMeshError } from '../../../../../regions/core/errors.js';
import { parseUri, parseVia, SipHeaders } from '../../../../../signaling/sip/message/index.js';
import type { SipRequest } from '../../../../../signaling/sip/message/types.js';
import { uriToEndpoint } from '../../../../../signaling/sip/transport/endpoint.js';
import { responseDestination, stampTopVia } from '../../../../../signaling/sip/transport/via-rules.js';

describe('uriToEndpoint', () => {
  it('uses the default transport and port 5060', () => {
    expect(uriToEndpoint(parseUri('sip:bob@127.0.6.5'), 'UDP')).toEqual({ transport: 'UDP', address: '127.0.6.5', port: 5060 });
    expect(uriToEndpoint(parseUri('sip:127.0.6.5:5099'), 'TCP')).toEqual({ transport: 'TCP', address: '127.0.6.5', port: 5099 });
  });

  it('honours the transport parameter, localhost and IPv6 literals', () => {
    expect(uriToEndpoint(parseUri('sip:bob@127.0.6.5;transport=tcp'), 'UDP').transport).toBe('TCP');
    expect(uriToEndpoint(parseUri('sip:bob@127.0.6.5;transport=UDP'), 'TCP').transport).toBe('UDP');
    expect(uriToEndpoint(parseUri('sip:localhost:5070'), 'UDP')).toEqual({ transport: 'UDP', address: '127.0.0.1', port: 5070 });
    expect(uriToEndpoint(parseUri('sip:[::1]:5070'), 'UDP').address).toBe('::1');
  });

  it('refuses host names, TLS and unknown transports with a MeshError', () => {
    for (const u of ['sip:bob@example.com', 'sip:bob@127.0.6.5;transport=tls', 'sips:bob@127.0.6.5']) {
      let err: unknown;
      try {
        uriToEndpoint(parseUri(u), 'UDP');
      } catch (e) {
        err = e;
      }
      expect(isMeshError(err, 'BAD_REQUEST'), u).toBe(true);
    }
  });
});

function req(via: string): SipRequest {
  const h = new SipHeaders();
  h.append('Via', via);
  h.append('Via', 'SIP/2.0/UDP 127.0.6.99;branch=z9hG4bKsecond');
  return { type: 'request', method: 'OPTIONS', uri: 'sip:x@127.0.6.1', version: 'SIP/2.0', headers: h, body: Buffer.alloc(0) };
}

describe('Via stamping (RFC 3261 §18.2.1, RFC 3581 §4)', () => {
  const source = { transport: 'UDP' as const, address: '127.0.6.7', port: 40000 };

  it('leaves the Via alone when sent-by is the source address and rport was not asked for', () => {
    const r = req('SIP/2.0/UDP 127.0.6.7:5060;branch=z9hG4bK1');
    stampTopVia(r, source);
    expect(r.headers.getList('Via')[0]).toBe('SIP/2.0/UDP 127.0.6.7:5060;branch=z9hG4bK1');
  });

  it('adds received when the sent-by host differs', () => {
    const r = req('SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1');
    stampTopVia(r, source);
    const v = parseVia(r.headers.getList('Via')[0]!);
    expect(v.params.get('received')).toBe('127.0.6.7');
    expect(v.params.has('rport')).toBe(false);
    expect(r.headers.getList('Via')).toHaveLength(2); // only the top one was rewritten
  });

  it('fills rport and always adds received when rport is present', () => {
    const r = req('SIP/2.0/UDP 127.0.6.7:5060;branch=z9hG4bK1;rport');
    stampTopVia(r, source);
    const v = parseVia(r.headers.getList('Via')[0]!);
    expect(v.params.get('rport')).toBe('40000');
    expect(v.params.get('received')).toBe('127.0.6.7');
    expect(r.headers.getList('Via')[1]).toContain('z9hG4bKsecond');
  });

  it('returns undefined for a request without a usable Via', () => {
    const r = req('garbage');
    expect(stampTopVia(r, source)).toBeUndefined();
  });
});

describe('response destination (RFC 3261 §18.2.2, RFC 3581 §4)', () => {
  it('prefers received + rport, then received + sent-by port, then sent-by (default 5060)', () => {
    expect(responseDestination(parseVia('SIP/2.0/UDP h.example:5070;received=127.0.6.7;rport=4000'), 'UDP')).toEqual({
      transport: 'UDP',
      address: '127.0.6.7',
      port: 4000,
    });
    expect(responseDestination(parseVia('SIP/2.0/UDP h.example:5070;received=127.0.6.7'), 'UDP').port).toBe(5070);
    expect(responseDestination(parseVia('SIP/2.0/UDP 127.0.6.8'), 'UDP')).toEqual({
      transport: 'UDP',
      address: '127.0.6.8',
      port: 5060,
    });
  });
});
