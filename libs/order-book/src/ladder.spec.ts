import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { Ladder, type Node } from './ladder.js';

describe('Ladder', () => {
  it('walks the live orders in price-time order while prices keep moving, and its heap stays bounded', () => {
    // Forty offers re-priced over and over, as quotes do all day: every re-price empties a level.
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat({ max: 39 }), fc.integer({ min: 1, max: 5_000 })), { minLength: 500, maxLength: 2_000 }), fc.constantFrom<1 | -1>(1, -1), (moves, direction) => {
        const ladder = new Ladder<string>(direction);
        const live = new Map<string, Node<string>>();
        let seq = 0;
        for (const [offer, price] of moves) {
          const id = `offer-${offer}`;
          const old = live.get(id);
          if (old !== undefined) ladder.remove(old);
          live.set(id, ladder.insert(id, id, BigInt(price), 1n, (seq += 1)));
          // Bounded by the offers (at most 40 levels), not by the moves.
          expect(ladder.heapSize).toBeLessThanOrEqual(2 * 40 + 65);
        }
        const expected = [...live.values()].sort((a, b) => direction * Number(a.price - b.price) || a.seq - b.seq).map((n) => n.order);
        expect([...ladder.walk()].map((n) => n.order)).toEqual(expected);
        expect(ladder.best()?.order).toBe(expected[0]);
      }),
      { numRuns: 50 },
    );
  });
});
