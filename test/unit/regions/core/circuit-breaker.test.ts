import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from '../../../../regions/core/circuit-breaker.js';
import { isMeshError } from '../../../../regions/core/errors.js';

describe('CircuitBreaker', () => {
  const fail = (): Promise<never> => Promise.reject(new Error('down'));
  const ok = (): Promise<string> => Promise.resolve('up');

  it('opens after the threshold of consecutive failures and rejects without calling', async () => {
    let now = 0;
    const b = new CircuitBreaker('x', { failureThreshold: 2, openMs: 1000, now: () => now });
    await expect(b.run(fail)).rejects.toThrow('down');
    expect(b.state).toBe('closed');
    await expect(b.run(fail)).rejects.toThrow('down');
    expect(b.state).toBe('open');
    let called = false;
    const err = await b.run(async () => { called = true; return 1; }).catch((e: unknown) => e);
    expect(called).toBe(false);
    expect(isMeshError(err, 'CIRCUIT_OPEN')).toBe(true);
  });

  it('lets one trial through after openMs; success closes, failure re-opens', async () => {
    let now = 0;
    const b = new CircuitBreaker('x', { failureThreshold: 1, openMs: 1000, now: () => now });
    await expect(b.run(fail)).rejects.toThrow();
    now = 999;
    expect(b.isCallAllowed()).toBe(false);
    now = 1000;
    expect(b.state).toBe('half-open');
    await expect(b.run(fail)).rejects.toThrow('down');
    expect(b.state).toBe('open');
    now = 2500;
    await expect(b.run(ok)).resolves.toBe('up');
    expect(b.state).toBe('closed');
  });

  it('a success resets the failure count', async () => {
    const b = new CircuitBreaker('x', { failureThreshold: 2 });
    await expect(b.run(fail)).rejects.toThrow();
    await b.run(ok);
    await expect(b.run(fail)).rejects.toThrow();
    expect(b.state).toBe('closed');
  });
});
