import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { isMeshError } from '../../../../regions/core/errors.js';
import { PendingRequests } from '../../../../regions/link/pending.js';
import type { Envelope } from '../../../../regions/proto/types.js';

const reply = (replyTo: string, body: Envelope['body']): Envelope => ({ requestId: '', kind: 'REPLY', sentAtMs: 0, replyTo, body });

describe('PendingRequests (fake timers)', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('settles with the reply body', async () => {
    const p = new PendingRequests(10);
    const r = p.add('a', 1000, 1, 'req');
    const body: Envelope['body'] = { type: 'heartbeat', value: { nodeId: 'n', region: 'r', seq: 1, load: 0 } };
    expect(p.settle(reply('a', body))).toBe(true);
    await expect(r).resolves.toEqual(body);
    expect(p.settle(reply('a', body))).toBe(false); // a late duplicate is ignored
    expect(p.size).toBe(0);
  });

  it('times out with UPSTREAM_TIMEOUT and reports the id', async () => {
    const p = new PendingRequests(10);
    const timedOut: string[] = [];
    p.onTimeout = (id) => timedOut.push(id);
    const r = p.add('a', 500, undefined, 'req');
    const check = expect(r).rejects.toSatisfy((e: unknown) => isMeshError(e, 'UPSTREAM_TIMEOUT'));
    await vi.advanceTimersByTimeAsync(499);
    expect(p.has('a')).toBe(true);
    await vi.advanceTimersByTimeAsync(1);
    await check;
    expect(timedOut).toEqual(['a']);
  });

  it('maps an ErrorReply to a MeshError with the remote code', async () => {
    const p = new PendingRequests(10);
    const r = p.add('a', 1000, 1, 'req');
    p.settle(reply('a', { type: 'errorReply', value: { code: 'NOT_FOUND', message: 'no such call' } }));
    await expect(r).rejects.toSatisfy((e: unknown) => isMeshError(e, 'NOT_FOUND'));
    const r2 = p.add('b', 1000, 1, 'req');
    p.settle(reply('b', { type: 'errorReply', value: { code: 'WHATEVER', message: 'x' } }));
    await expect(r2).rejects.toSatisfy((e: unknown) => isMeshError(e, 'INTERNAL'));
    // A code named like an Object.prototype member is not a catalogue entry either.
    for (const code of ['constructor', '__proto__', 'toString']) {
      const r3 = p.add(code, 1000, 1, 'req');
      p.settle(reply(code, { type: 'errorReply', value: { code, message: 'x' } }));
      await expect(r3).rejects.toSatisfy((e: unknown) => isMeshError(e, 'INTERNAL') && e.httpStatus === 500);
    }
  });

  it('is bounded, and rejects per connection or all at once', async () => {
    const p = new PendingRequests(3);
    const a = p.add('a', 1000, 1, 'req');
    const b = p.add('b', 1000, 2, 'req');
    const c = p.add('c', 1000, undefined, 'req');
    expect(() => p.add('d', 1000, 1, 'req')).toThrow(expect.objectContaining({ code: 'RATE_LIMITED' }));
    const { MeshError } = await import('../../../../regions/core/errors.js');
    p.rejectSentOn(1, new MeshError('TRANSPORT_ERROR', 'gone'));
    await expect(a).rejects.toSatisfy((e: unknown) => isMeshError(e, 'TRANSPORT_ERROR'));
    expect(p.size).toBe(2);
    p.rejectAll(new MeshError('CLOSED', 'closed'));
    await expect(b).rejects.toSatisfy((e: unknown) => isMeshError(e, 'CLOSED'));
    await expect(c).rejects.toSatisfy((e: unknown) => isMeshError(e, 'CLOSED'));
    expect(vi.getTimerCount()).toBe(0);
  });
});
