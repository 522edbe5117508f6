import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { isMeshError, MeshError } from '../../../../regions/core/errors.js';
import type { MediaPort } from '../../../../signaling/b2bua/media-port.js';
import { offerWithRetry } from '../../../../signaling/b2bua/offer-retry.js';

type Behaviour = 'ok' | 'timeout' | 'ports' | 'breaker' | 'hang' | 'late-ok';

/** A media port over named nodes whose offers behave as the test says; records what was asked of it. */
class FakePort implements MediaPort {
  readonly log: string[] = [];
  allocation: string | undefined;
  constructor(
    private readonly order: string[],
    readonly behaviour: Record<string, Behaviour>,
  ) {}
  acquire(callId: string): { nodeId: string } {
    const id = this.order[0];
    if (id === undefined) throw new MeshError('SERVICE_UNAVAILABLE', 'no healthy media node');
    this.allocation = id;
    this.log.push(`acquire ${callId} → ${id}`);
    return { nodeId: id };
  }
  reacquire(callId: string, exclude: string | readonly string[]): { nodeId: string } {
    const ex = typeof exclude === 'string' ? [exclude] : exclude;
    this.allocation = undefined;
    const id = this.order.find((n) => !ex.includes(n));
    this.log.push(`reacquire ${callId} excluding ${ex.join(',')} → ${id ?? 'none'}`);
    if (id === undefined) throw new MeshError('SERVICE_UNAVAILABLE', 'no other node');
    this.allocation = id;
    return { nodeId: id };
  }
  attach(): void {}
  isHealthy(): boolean {
    return true;
  }
  release(callId: string): void {
    this.allocation = undefined;
    this.log.push(`release ${callId}`);
  }
  offer(nodeId: string, _callId: string, _fromTag: string, sdp: string): Promise<string> {
    this.log.push(`offer ${nodeId}`);
    switch (this.behaviour[nodeId] ?? 'ok') {
      case 'ok':
        return Promise.resolve(`${sdp} via ${nodeId}`);
      case 'timeout':
        return new Promise((_, reject) => setTimeout(() => reject(new MeshError('UPSTREAM_TIMEOUT', `${nodeId} did not answer`)), 1000));
      case 'ports':
        return Promise.reject(new MeshError('BAD_GATEWAY', 'rtpengine offer failed: Ran out of ports', { detail: { errorReason: 'Ran out of ports' } }));
      case 'breaker':
        return Promise.reject(new MeshError('CIRCUIT_OPEN', `circuit rtpengine:${nodeId} is open`));
      case 'hang':
        return new Promise(() => {});
      case 'late-ok':
        return new Promise((resolve) => setTimeout(() => resolve(`${sdp} via ${nodeId} (late)`), 5000));
    }
  }
  answer(): Promise<string> {
    return Promise.resolve('');
  }
  delete(nodeId: string, callId: string): Promise<void> {
    this.log.push(`delete ${nodeId} ${callId}`);
    return Promise.resolve();
  }
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'resolved';
  } catch (e) {
    return isMeshError(e) ? e.code : String(e);
  }
}

describe('offerWithRetry', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('takes the first node that answers', async () => {
    const port = new FakePort(['m1', 'm2'], {});
    const placed = await offerWithRetry(port, 'c1', 'ft', 'sdp', { budgetMs: 2500 });
    expect(placed).toEqual({ nodeId: 'm1', sdp: 'sdp via m1', attempts: 1 });
    expect(port.log).toEqual(['acquire c1 → m1', 'offer m1']);
  });

  it('moves an offer that timed out on a dead node to the next one, and deletes what the dead one may hold', async () => {
    const port = new FakePort(['m1', 'm2'], { m1: 'timeout' });
    const failed: string[] = [];
    const p = offerWithRetry(port, 'c1', 'ft', 'sdp', { budgetMs: 2500, onAttemptFailed: (n, e) => failed.push(`${n}: ${(e as MeshError).code}`) });
    await vi.advanceTimersByTimeAsync(1000);
    expect(await p).toEqual({ nodeId: 'm2', sdp: 'sdp via m2', attempts: 2 });
    expect(failed).toEqual(['m1: UPSTREAM_TIMEOUT']);
    expect(port.log).toEqual(['acquire c1 → m1', 'offer m1', 'delete m1 c1', 'reacquire c1 excluding m1 → m2', 'offer m2']);
    expect(port.allocation).toBe('m2');
  });

  it('moves on from a node out of ports or with its breaker open, excluding every node tried', async () => {
    const port = new FakePort(['m1', 'm2', 'm3'], { m1: 'ports', m2: 'breaker' });
    const placed = await offerWithRetry(port, 'c1', 'ft', 'sdp', { budgetMs: 2500 });
    expect(placed.nodeId).toBe('m3');
    expect(port.log).toContain('reacquire c1 excluding m1,m2 → m3');
    expect(port.log.filter((l) => l.startsWith('delete'))).toEqual([]); // nothing was created on them
  });

  it('refuses with MEDIA_UNAVAILABLE when every node fails, and releases the allocation', async () => {
    const port = new FakePort(['m1', 'm2'], { m1: 'ports', m2: 'ports' });
    const p = offerWithRetry(port, 'c1', 'ft', 'sdp', { budgetMs: 2500 });
    let err: unknown;
    await p.catch((e: unknown) => (err = e));
    expect(isMeshError(err, 'MEDIA_UNAVAILABLE')).toBe(true);
    expect((err as MeshError).message).toContain('m1, m2');
    expect((err as MeshError).detail).toMatchObject({ nodesTried: ['m1', 'm2'] });
    expect(port.log.at(-1)).toBe('release c1');
    expect(port.allocation).toBeUndefined();
  });

  it('answers NO_MEDIA_NODE when no node takes new calls at all', async () => {
    const port = new FakePort([], {});
    expect(await codeOf(offerWithRetry(port, 'c1', 'ft', 'sdp', { budgetMs: 2500 }))).toBe('NO_MEDIA_NODE');
  });

  it('stops at maxAttempts', async () => {
    const port = new FakePort(['m1', 'm2', 'm3'], { m1: 'ports', m2: 'ports' });
    expect(await codeOf(offerWithRetry(port, 'c1', 'ft', 'sdp', { budgetMs: 2500, maxAttempts: 2 }))).toBe('MEDIA_UNAVAILABLE');
    expect(port.log.filter((l) => l.startsWith('offer'))).toEqual(['offer m1', 'offer m2']);
  });

  it('gives an attempt only what is left of the budget; a late answer is deleted', async () => {
    const port = new FakePort(['m1', 'm2'], { m1: 'late-ok' });
    const code = codeOf(offerWithRetry(port, 'c1', 'ft', 'sdp', { budgetMs: 300 }));
    await vi.advanceTimersByTimeAsync(300);
    // Budget spent on m1: no time left for m2.
    expect(await code).toBe('MEDIA_UNAVAILABLE');
    expect(port.log).not.toContain('offer m2');
    await vi.advanceTimersByTimeAsync(5000);
    expect(port.log.at(-1)).toBe('delete m1 c1');
  });

  it('a hanging node costs the whole budget at most', async () => {
    const port = new FakePort(['m1', 'm2'], { m1: 'hang' });
    const code = codeOf(offerWithRetry(port, 'c1', 'ft', 'sdp', { budgetMs: 400, maxAttempts: 3 }));
    await vi.advanceTimersByTimeAsync(400);
    // The first attempt had the whole budget; nothing is left for a second.
    expect(await code).toBe('MEDIA_UNAVAILABLE');
    expect(port.allocation).toBeUndefined();
  });

  it('stops when the caller cancelled', async () => {
    const port = new FakePort(['m1', 'm2'], { m1: 'ports' });
    expect(await codeOf(offerWithRetry(port, 'c1', 'ft', 'sdp', { budgetMs: 2500, isCancelled: () => true }))).toBe('MEDIA_UNAVAILABLE');
    expect(port.log).not.toContain('offer m2');
  });
});
