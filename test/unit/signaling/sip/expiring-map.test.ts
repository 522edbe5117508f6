import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ExpiringMap } from '../../../../signaling/sip/expiring-map.js';

describe('ExpiringMap', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('an entry lives at least ttl and at most ttl + one sweep interval', () => {
    const m = new ExpiringMap<string, number>(32_000, 1000);
    m.set('a', 1);
    vi.advanceTimersByTime(31_999);
    expect(m.get('a')).toBe(1);
    vi.advanceTimersByTime(1);
    expect(m.get('a')).toBeUndefined(); // expired, even before the sweep removes it
    vi.advanceTimersByTime(1000);
    expect(m.size).toBe(0);
  });

  it('set again restarts the entry’s lifetime and keeps expiry order', () => {
    const m = new ExpiringMap<string, number>(10_000, 1000);
    m.set('a', 1);
    vi.advanceTimersByTime(5000);
    m.set('b', 2);
    m.set('a', 3);
    vi.advanceTimersByTime(11_000); // b set at 5 s expires at 15 s; a re-set at 5 s too
    expect(m.size).toBe(0);
    m.set('c', 4);
    vi.advanceTimersByTime(4000);
    m.set('d', 5);
    vi.advanceTimersByTime(7000);
    expect(m.get('c')).toBeUndefined();
    expect(m.get('d')).toBe(5);
    expect(m.size).toBe(1);
  });

  it('runs one timer while it holds entries and none when empty', () => {
    const m = new ExpiringMap<number, number>(1000, 100);
    expect(vi.getTimerCount()).toBe(0);
    for (let i = 0; i < 500; i++) m.set(i, i);
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(1100);
    expect(m.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('delete and clear stop the timer when nothing is left', () => {
    const m = new ExpiringMap<string, number>(1000);
    m.set('a', 1);
    expect(m.delete('a')).toBe(true);
    expect(m.delete('a')).toBe(false);
    expect(vi.getTimerCount()).toBe(0);
    m.set('b', 2);
    m.clear();
    expect(m.has('b')).toBe(false);
    expect(vi.getTimerCount()).toBe(0);
  });
});
