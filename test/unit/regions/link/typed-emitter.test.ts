import { describe, expect, it } from 'vitest';
import { TypedEmitter } from '../../../../regions/link/typed-emitter.js';

class Emitter extends TypedEmitter<{ up: [n: number]; down: [] }> {
  fire(n: number): void {
    this.emit('up', n);
  }
}

describe('TypedEmitter', () => {
  it('a throwing listener neither breaks emit nor the other listeners', () => {
    const e = new Emitter();
    const seen: number[] = [];
    const errors: string[] = [];
    e.onListenerError = (err, ev) => errors.push(`${ev}:${(err as Error).message}`);
    e.on('up', () => {
      throw new Error('boom');
    });
    e.on('up', (n) => seen.push(n));
    expect(() => e.fire(1)).not.toThrow();
    e.fire(2);
    expect(seen).toEqual([1, 2]);
    expect(errors).toEqual(['up:boom', 'up:boom']);
  });

  it('a throwing error reporter is contained too', () => {
    const e = new Emitter();
    e.onListenerError = () => {
      throw new Error('reporter broken');
    };
    e.on('up', () => {
      throw new Error('boom');
    });
    expect(() => e.fire(1)).not.toThrow();
  });

  it('once fires once; off removes', () => {
    const e = new Emitter();
    const seen: number[] = [];
    const l = (n: number): void => void seen.push(n * 10);
    e.once('up', (n) => seen.push(n));
    e.on('up', l);
    e.fire(1);
    e.off('up', l);
    e.fire(2);
    expect(seen).toEqual([1, 10]);
  });
});
