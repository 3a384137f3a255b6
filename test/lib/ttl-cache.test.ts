// Pure unit tests: no services involved; the clock is a variable.
import { describe, expect, it } from 'vitest';
import { TtlCache } from '../../lib/ttl-cache';

describe('TtlCache', () => {
  it('answers an entry until its time is up, then forgets it', () => {
    let now = 0;
    const cache = new TtlCache<string, number>(5_000, 10, () => now);
    cache.set('a', 1);
    now = 4_999;
    expect(cache.get('a')).toBe(1);
    now = 5_000;
    expect(cache.get('a')).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('holds at most maxEntries, dropping the one set longest ago', () => {
    let now = 0;
    const cache = new TtlCache<string, number>(5_000, 2, () => now);
    cache.set('a', 1);
    cache.set('b', 2);
    cache.set('a', 3);
    now = 1;
    cache.set('c', 4);
    expect(cache.size).toBe(2);
    expect([cache.get('a'), cache.get('b'), cache.get('c')]).toEqual([3, undefined, 4]);
  });

  it('forgets everything on clear', () => {
    const cache = new TtlCache<string, number>(5_000, 2, () => 0);
    cache.set('a', 1);
    cache.clear();
    expect(cache.get('a')).toBeUndefined();
  });
});
