import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { gpuSecondsOf, matchingStepOf, remainderOf, requestsFor } from './work.js';

describe('sharing a job’s requests among its allocations', () => {
  it('gives each allocation its share and the last one the rest, so every request is given exactly once', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 500 }), fc.array(fc.bigInt({ min: 1n, max: 5_000_000n }), { minLength: 1, maxLength: 12 }), (n, parts) => {
        let pending = parts.reduce((a, b) => a + b, 0n);
        let pool = n;
        let given = 0;
        for (const q of parts) {
          const k = requestsFor(pool, pending, q);
          expect(k).toBeGreaterThanOrEqual(0);
          expect(k).toBeLessThanOrEqual(pool);
          pool -= k;
          given += k;
          pending -= q;
        }
        expect(given).toBe(n);
      }),
    );
  });

  it('is proportional: half the quantity takes half the requests', () => {
    expect(requestsFor(10, 2_000_000n, 1_000_000n)).toBe(5);
    expect(requestsFor(10, 3_000_000n, 1_000_000n)).toBe(3);
    expect(requestsFor(7, 0n, 1n)).toBe(7);
  });

  it('returns the unfinished share rounded up, never more than the allocation', () => {
    expect(remainderOf(1_000_000n, 1n, 3n)).toBe(333_334n);
    expect(remainderOf(1_000_000n, 0n, 3n)).toBe(0n);
    expect(remainderOf(1_000_000n, 3n, 3n)).toBe(1_000_000n);
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: 10n ** 12n }), fc.bigInt({ min: 1n, max: 10_000n }), fc.bigInt({ min: 0n, max: 10_000n }), (q, total, u) => {
        const r = remainderOf(q, u > total ? total : u, total);
        expect(r).toBeGreaterThanOrEqual(0n);
        expect(r).toBeLessThanOrEqual(q);
        // Rounded up: the remainder covers at least the exact share.
        expect(r * total).toBeGreaterThanOrEqual(q * (u > total ? total : u));
      }),
    );
  });

  it('converts GPU-hours to seconds and reads matching step numbers', () => {
    expect(gpuSecondsOf(1_500_000n)).toBe(5_400n);
    const job = '0b5e8a52-0000-4000-8000-000000000001';
    expect(matchingStepOf(`${job}.7`, job)).toBe(7);
    expect(matchingStepOf(`${job}.1:running`, job)).toBeUndefined();
    expect(matchingStepOf(`${job}:completed`, job)).toBeUndefined();
  });
});
