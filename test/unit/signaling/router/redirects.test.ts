import { describe, expect, it } from 'vitest';
import { isMeshError } from '../../../../regions/core/errors.js';
import { RedirectGuard } from '../../../../signaling/router/redirects.js';

function code(fn: () => void): string | undefined {
  try {
    fn();
    return undefined;
  } catch (e) {
    return isMeshError(e) ? e.code : 'not a MeshError';
  }
}

describe('RedirectGuard', () => {
  it('allows 10 redirects in a chain and refuses the 11th', () => {
    const g = new RedirectGuard();
    for (let i = 0; i < 10; i++) g.follow(`https://a.example/${i}`, 'POST');
    expect(g.chainLength).toBe(10);
    expect(code(() => g.follow('https://a.example/10', 'POST'))).toBe('TOO_MANY_HOPS');
  });

  it('detects a loop back to a URL already in the chain (fragment ignored)', () => {
    const g = new RedirectGuard();
    g.follow('https://a.example/one', 'POST');
    g.follow('https://a.example/two', 'POST');
    expect(code(() => g.follow('https://a.example/one#x', 'POST'))).toBe('LOOP_DETECTED');
  });

  it('treats the same URL with another method as a different step', () => {
    const g = new RedirectGuard();
    g.follow('https://a.example/one', 'POST');
    expect(code(() => g.follow('https://a.example/one', 'GET'))).toBeUndefined();
  });

  it('starts the chain over after progress, so a wait loop that plays audio is fine', () => {
    const g = new RedirectGuard();
    for (let i = 0; i < 50; i++) {
      g.follow('https://a.example/wait', 'POST');
      g.noteProgress();
    }
    expect(g.totalRedirects).toBe(50);
    expect(g.chainLength).toBe(0);
  });

  it('bounds redirects over the whole call', () => {
    const g = new RedirectGuard({ maxTotal: 5 });
    for (let i = 0; i < 5; i++) {
      g.follow('https://a.example/wait', 'POST');
      g.noteProgress();
    }
    expect(code(() => g.follow('https://a.example/wait', 'POST'))).toBe('TOO_MANY_HOPS');
  });
});
