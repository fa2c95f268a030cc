import { describe, expect, it } from 'vitest';
import { backoffBase, backoffDelay, createRandom, mixSeed } from '../../host/recovery/index.ts';

const b = { initialMs: 200, factor: 2, maxMs: 10_000, jitter: 0.2 };

describe('backoff', () => {
  it('grows geometrically from initialMs and is capped at maxMs', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 7].map((n) => backoffBase(n, b))).toEqual([
      200, 400, 800, 1600, 3200, 6400, 10_000, 10_000,
    ]);
    // No overflow to Infinity/NaN for absurd attempt counts.
    expect(backoffBase(10_000, b)).toBe(10_000);
  });

  it('factor 1 is a constant delay; initialMs 0 means retry at once', () => {
    expect([0, 3, 9].map((n) => backoffBase(n, { ...b, factor: 1 }))).toEqual([200, 200, 200]);
    expect(backoffDelay(5, { ...b, initialMs: 0 }, 0.5)).toBe(0);
  });

  it('jitter only shortens: every delay lies in [base * (1 - jitter), base]', () => {
    const rnd = createRandom(7);
    for (let n = 0; n < 10; n++) {
      const base = backoffBase(n, b);
      for (let k = 0; k < 200; k++) {
        const d = backoffDelay(n, b, rnd());
        expect(d).toBeGreaterThanOrEqual(Math.round(base * 0.8));
        expect(d).toBeLessThanOrEqual(base);
      }
    }
    // Full jitter (1) spans down to 0; jitter 0 is exact.
    expect(backoffDelay(2, { ...b, jitter: 1 }, 0.999999)).toBe(0);
    expect(backoffDelay(2, { ...b, jitter: 0 }, 0.7)).toBe(800);
  });

  it('the seeded source is reproducible and spread over [0, 1)', () => {
    const a = createRandom(mixSeed(1, 2, 3));
    const c = createRandom(mixSeed(1, 2, 3));
    const xs = Array.from({ length: 1000 }, () => a());
    expect(xs).toEqual(Array.from({ length: 1000 }, () => c()));
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(mean).toBeGreaterThan(0.45);
    expect(mean).toBeLessThan(0.55);
    expect(mixSeed(1, 2, 3)).not.toBe(mixSeed(1, 2, 4));
  });
});
