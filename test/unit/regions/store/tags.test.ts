import { describe, expect, it } from 'vitest';
import { callTags, hasAllTags, isTag, MAX_CALL_TAGS, MAX_TAGS, normalizeTags } from '../../../../regions/store/tags.js';

describe('tags', () => {
  it('accepts [a-z0-9_-]{1,32} only', () => {
    for (const ok of ['a', 'campaign-7', 'eu_west', 'x'.repeat(32)]) expect(isTag(ok)).toBe(true);
    for (const bad of ['', 'A', 'with space', 'é', 'x'.repeat(33), 'a:b', 'a,b']) expect(isTag(bad)).toBe(false);
  });

  it('normalizes: valid only, no duplicates, sorted, at most MAX_TAGS', () => {
    expect(normalizeTags(['b', 'a', 'b', 'BAD'])).toEqual(['a', 'b']);
    const many = Array.from({ length: 15 }, (_, i) => `t${String(i).padStart(2, '0')}`);
    expect(normalizeTags(many)).toHaveLength(MAX_TAGS);
    expect(normalizeTags(undefined)).toEqual([]);
  });

  it("a call's tags are the union of its own, its number's and its application's, bounded", () => {
    expect(callTags(['promo'], undefined, ['promo', 'eu'])).toEqual(['eu', 'promo']);
    const set = (p: string) => Array.from({ length: MAX_TAGS }, (_, i) => `${p}${i}`);
    const all = callTags(set('a'), set('b'), set('c'), set('d'));
    expect(all).toHaveLength(MAX_CALL_TAGS);
    expect(callTags()).toEqual([]);
  });

  it('a tracker matches only when the call carries every one of its tags', () => {
    expect(hasAllTags(['a', 'b', 'c'], ['a', 'c'])).toBe(true);
    expect(hasAllTags(['a', 'b'], ['a', 'c'])).toBe(false);
    expect(hasAllTags([], ['a'])).toBe(false);
    // A tracker without tags matches nothing (the API refuses one anyway).
    expect(hasAllTags(['a'], [])).toBe(false);
  });
});
