import { describe, expect, it } from 'vitest';
import { isMeshError } from '../../../../regions/core/errors.js';
import { CallRegistry, type CallKindOwner } from '../../../../signaling/calls/registry.js';

function owner(log: string[], name: string, touched = 1): CallKindOwner {
  return {
    hangup: async (sid) => (log.push(`${name} hangup ${sid}`), true),
    redirect: async (sid, url) => (log.push(`${name} redirect ${sid} ${url}`), true),
    onMediaNodeDown: async (id) => (log.push(`${name} down ${id}`), touched),
  };
}

describe('CallRegistry', () => {
  it('counts every kind in one number and refuses beyond maxCalls with 503 + Retry-After', () => {
    const r = new CallRegistry({ maxCalls: 3, retryAfterSeconds: 7 });
    r.add('CA1', 'b2bua');
    r.add('CA2', 'inbound-app');
    r.add('CA2', 'inbound-app'); // idempotent
    expect(r.size).toBe(2);
    expect(r.hasRoom()).toBe(true);
    r.add('CA3', 'originated');
    expect(r.counts()).toEqual({ b2bua: 1, 'inbound-app': 1, originated: 1 });
    expect(r.hasRoom()).toBe(false);
    let caught: unknown;
    try {
      r.admit();
    } catch (e) {
      caught = e;
    }
    expect(isMeshError(caught, 'CALL_CAPACITY')).toBe(true);
    expect((caught as { sipStatus: number }).sipStatus).toBe(503);
    expect((caught as { retryAfter: number }).retryAfter).toBe(7);
    r.remove('CA1');
    r.remove('CA1');
    expect(r.size).toBe(2);
    expect(() => r.admit()).not.toThrow();
  });

  it('a drained node refuses every new call with 503 Node Draining + Retry-After, keeps its live ones, and admits again once undrained', () => {
    const r = new CallRegistry({ maxCalls: 10, retryAfterSeconds: 4 });
    r.add('CA1', 'b2bua');
    r.setDraining(true);
    expect(r.isDraining).toBe(true);
    let caught: unknown;
    try {
      r.admit();
    } catch (e) {
      caught = e;
    }
    expect(isMeshError(caught, 'NODE_DRAINING')).toBe(true);
    expect(caught).toMatchObject({ sipStatus: 503, sipReason: 'Node Draining', retryAfter: 4 });
    expect(r.size).toBe(1);
    expect(r.hasRoom()).toBe(true); // drain is not capacity: the count means one thing
    r.setDraining(false);
    expect(() => r.admit()).not.toThrow();
  });

  it('dispatches hangup and redirect to the owner of the call kind; unknown calls are false', async () => {
    const log: string[] = [];
    const r = new CallRegistry({ maxCalls: 10, retryAfterSeconds: 1 });
    r.setOwner('inbound-app', owner(log, 'app'));
    r.setOwner('originated', owner(log, 'api'));
    r.add('CA1', 'inbound-app');
    r.add('CA2', 'originated');
    expect(await r.hangup('CA1')).toBe(true);
    expect(await r.redirect('CA2', 'http://x/', 'POST')).toBe(true);
    expect(await r.hangup('CA9')).toBe(false);
    r.add('CA3', 'b2bua'); // no owner registered
    expect(await r.hangup('CA3')).toBe(false);
    expect(log).toEqual(['app hangup CA1', 'api redirect CA2 http://x/']);
  });

  it('a dead media node reaches every owner; one failing owner does not stop the others', async () => {
    const log: string[] = [];
    const r = new CallRegistry({ maxCalls: 10, retryAfterSeconds: 1 });
    r.setOwner('b2bua', owner(log, 'b2bua', 2));
    r.setOwner('inbound-app', { ...owner(log, 'app'), onMediaNodeDown: async () => Promise.reject(new Error('boom')) });
    r.setOwner('originated', owner(log, 'api', 3));
    const out = await r.onMediaNodeDown('media-1');
    expect(out.touched).toEqual({ b2bua: 2, 'inbound-app': 0, originated: 3 });
    expect(out.errors.map((e) => e.kind)).toEqual(['inbound-app']);
    expect(log.sort()).toEqual(['api down media-1', 'b2bua down media-1']);
  });
});
