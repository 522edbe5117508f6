import { describe, expect, it } from 'vitest';
import { SafeEmitter } from '../../../media/events.js';

describe('SafeEmitter', () => {
  it('delivers typed events, survives throwing listeners, and unsubscribes', () => {
    const errors: unknown[] = [];
    const em = new SafeEmitter<{ tick: [number, string] }>((e) => errors.push(e));
    const got: string[] = [];
    em.on('tick', () => {
      throw new Error('boom');
    });
    const off = em.on('tick', (n, s) => got.push(`${n}${s}`));
    expect(() => em.emit('tick', 1, 'a')).not.toThrow();
    off();
    em.emit('tick', 2, 'b');
    expect(got).toEqual(['1a']);
    expect(errors).toHaveLength(2);
    expect(em.listenerCount('tick')).toBe(1);
  });

  it('survives an error reporter that throws too', () => {
    const em = new SafeEmitter<{ e: [] }>(() => {
      throw new Error('reporter');
    });
    let later = 0;
    em.on('e', () => {
      throw new Error('x');
    });
    em.on('e', () => (later += 1));
    em.emit('e');
    expect(later).toBe(1);
  });
});
