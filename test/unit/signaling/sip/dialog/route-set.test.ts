import { describe, expect, it } from 'vitest';
import {
  computeRequestTarget, isLooseRoute, routeSetFromRecordRoute, toRequestUri,
} from '../../../../../signaling/sip/dialog/index.js';
import { SipHeaders } from '../../../../../signaling/sip/message/headers.js';

const TARGET = 'sip:bob@192.0.2.4:5060';

describe('computeRequestTarget (RFC 3261 §12.2.1.1)', () => {
  it('empty route set: Request-URI is the remote target, no Route', () => {
    expect(computeRequestTarget([], TARGET)).toEqual({ requestUri: TARGET, routes: [], nextHop: TARGET });
  });

  it('loose first route: Request-URI is the remote target, Route is the route set', () => {
    const routes = ['<sip:p1.example.com;lr>', '<sip:p2.example.com>'];
    expect(computeRequestTarget(routes, TARGET)).toEqual({
      requestUri: TARGET,
      routes,
      nextHop: 'sip:p1.example.com;lr',
    });
  });

  it('strict first route: Request-URI is that route, remote target goes last in Route', () => {
    const routes = ['<sip:p1.example.com;transport=tcp>', '<sip:p2.example.com;lr>'];
    expect(computeRequestTarget(routes, TARGET)).toEqual({
      requestUri: 'sip:p1.example.com;transport=tcp',
      routes: ['<sip:p2.example.com;lr>', `<${TARGET}>`],
      nextHop: 'sip:p1.example.com;transport=tcp',
    });
  });

  it('strict single route: Route holds only the remote target', () => {
    const t = computeRequestTarget(['<sip:strict.example.com>'], TARGET);
    expect(t.requestUri).toBe('sip:strict.example.com');
    expect(t.routes).toEqual([`<${TARGET}>`]);
  });

  it('does not change the route set it was given', () => {
    const routes = ['<sip:p1.example.com>', '<sip:p2.example.com;lr>'];
    computeRequestTarget(routes, TARGET);
    expect(routes).toEqual(['<sip:p1.example.com>', '<sip:p2.example.com;lr>']);
  });
});

describe('route helpers', () => {
  it('isLooseRoute looks for lr in the URI', () => {
    expect(isLooseRoute('<sip:p1.example.com;lr>')).toBe(true);
    expect(isLooseRoute('<sip:p1.example.com;lr=on>')).toBe(true);
    expect(isLooseRoute('<sip:p1.example.com>;lr')).toBe(false);
    expect(isLooseRoute('<sip:p1.example.com>')).toBe(false);
  });

  it('toRequestUri strips method and URI headers, leaves other URIs untouched', () => {
    expect(toRequestUri('sip:bob@h.example.com;transport=udp')).toBe('sip:bob@h.example.com;transport=udp');
    const stripped = toRequestUri('sip:bob@h.example.com;method=INVITE?subject=hi');
    expect(stripped).not.toContain('method');
    expect(stripped).not.toContain('subject');
    expect(stripped).toContain('bob@h.example.com');
  });

  it('routeSetFromRecordRoute flattens repeated and comma-joined headers', () => {
    const h = new SipHeaders([
      ['Record-Route', '<sip:a.example.com;lr>, <sip:b.example.com;lr>'],
      ['Record-Route', '<sip:c.example.com;lr>'],
    ]);
    const asIs = ['<sip:a.example.com;lr>', '<sip:b.example.com;lr>', '<sip:c.example.com;lr>'];
    expect(routeSetFromRecordRoute(h, 'as-received')).toEqual(asIs);
    expect(routeSetFromRecordRoute(h, 'reversed')).toEqual([...asIs].reverse());
    expect(routeSetFromRecordRoute(new SipHeaders(), 'reversed')).toEqual([]);
  });
});
