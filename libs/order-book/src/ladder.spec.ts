import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { Ladder, type Node } from './ladder.js';

describe('Ladder', () => {
  it('walks the live orders in price-time order while prices keep moving, and its heap and levels stay bounded', () => {
    // Forty offers re-priced over and over, as quotes do all day: every re-price empties a level.
    // Reading the best after some moves lets emptied levels surface and leave the heap; their
    // prices come back later (a narrow range of prices: most do), onto the heap again.
    const rank = (direction: 1 | -1) => (a: Node<string>, b: Node<string>) => direction * Number(a.price - b.price) || a.seq - b.seq;
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat({ max: 39 }), fc.integer({ min: 1, max: 5_000 }), fc.boolean()), { minLength: 500, maxLength: 2_000 }), fc.constantFrom<1 | -1>(1, -1), fc.constantFrom(60, 5_000), (moves, direction, range) => {
        const ladder = new Ladder<string>(direction);
        const live = new Map<string, Node<string>>();
        let seq = 0;
        for (const [offer, price, look] of moves) {
          const id = `offer-${offer}`;
          const old = live.get(id);
          if (old !== undefined) ladder.remove(old);
          live.set(id, ladder.insert(id, id, BigInt(1 + (price % range)), 1n, (seq += 1)));
          if (look) expect(ladder.best()?.order).toBe([...live.values()].sort(rank(direction))[0]?.order);
          // Bounded by the offers (at most 40 levels), not by the moves.
          expect(ladder.heapSize).toBeLessThanOrEqual(2 * 40 + 65);
          expect(ladder.levelCount).toBeLessThanOrEqual(4 * 40 + 256 + 1);
        }
        const expected = [...live.values()].sort(rank(direction)).map((n) => n.order);
        expect([...ladder.walk()].map((n) => n.order)).toEqual(expected);
        expect(ladder.best()?.order).toBe(expected[0]);
      }),
      { numRuns: 50 },
    );
  });

  it('keeps time order and bounded memory when orders leave from the middle of a level', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), fc.nat({ max: 2 }), fc.nat()), { minLength: 100, maxLength: 3_000 }), (moves) => {
        // Three prices, many orders each: cancels hit the middle of long queues.
        const ladder = new Ladder<string>(1);
        const live: Node<string>[] = [];
        let seq = 0;
        for (const [add, price, pick] of moves) {
          if (add || live.length === 0) {
            const id = `o${(seq += 1)}`;
            live.push(ladder.insert(id, id, BigInt(price), 1n, seq));
          } else {
            const [node] = live.splice(pick % live.length, 1);
            ladder.remove(node as Node<string>);
          }
          expect(ladder.size).toBe(live.length);
          // A level's dead slots are dropped once they outnumber its live orders (with some slack).
          expect(ladder.queueSlots).toBeLessThanOrEqual(2 * live.length + 3 * 5);
        }
        const expected = [...live].sort((a, b) => Number(a.price - b.price) || a.seq - b.seq).map((n) => n.order);
        expect([...ladder.walk()].map((n) => n.order)).toEqual(expected);
        expect(ladder.best()?.order).toBe(expected[0]);
      }),
      { numRuns: 50 },
    );
  });

  it('gives back the slots of orders cancelled behind a first order that stays', () => {
    const ladder = new Ladder<string>(1);
    const nodes = Array.from({ length: 1_000 }, (_, i) => ladder.insert(`o${i}`, `o${i}`, 10n, 1n, i));
    for (const node of nodes.slice(1, -1)) ladder.remove(node);
    expect(ladder.queueSlots).toBeLessThanOrEqual(2 * 2 + 5);
    expect([...ladder.walk()].map((n) => n.order)).toEqual(['o0', 'o999']);
  });

  it('does not keep the nodes of a level that ran deep once it has emptied, however they left', () => {
    // Its array is reused from slot 0: its unused slots would keep the removed nodes (and their
    // orders) from the collector, were the array still as long as the level once was.
    for (const leave of ['cancel', 'fill'] as const) {
      const ladder = new Ladder<string>(1);
      const deep = Array.from({ length: 1_000 }, (_, i) => ladder.insert(`o${i}`, `o${i}`, 10n, 1n, i));
      if (leave === 'cancel') for (const node of deep) ladder.remove(node);
      else for (let best = ladder.best(); best !== undefined; best = ladder.best()) ladder.remove(best);
      const next = ladder.insert('again', 'again', 10n, 1n, 1_000);
      expect(next.level?.items.length).toBeLessThanOrEqual(8);
      expect([...ladder.walk()].map((n) => n.order)).toEqual(['again']);
    }
  });

  it('refills emptied levels from the start of their queues, with removals during walks, in price-time order', () => {
    // A walk may remove the order it was given (a fill); levels it empties are refilled later,
    // from slot 0 of the same array, over slots that still name nodes now resting elsewhere.
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.array(fc.nat({ max: 4 }), { maxLength: 12 }), fc.array(fc.boolean(), { maxLength: 30 })), { minLength: 1, maxLength: 60 }), (rounds) => {
        const ladder = new Ladder<string>(1);
        let live: Node<string>[] = [];
        let seq = 0;
        for (const [prices, takes] of rounds) {
          for (const price of prices) {
            const id = `o${(seq += 1)}`;
            live.push(ladder.insert(id, id, BigInt(price), 1n, seq));
          }
          let i = 0;
          const taken = new Set<Node<string>>();
          for (const node of ladder.walk()) {
            if (i >= takes.length) break;
            if (takes[i] === true) {
              ladder.remove(node);
              taken.add(node);
            }
            i += 1;
          }
          live = live.filter((n) => !taken.has(n));
          const expected = [...live].sort((a, b) => Number(a.price - b.price) || a.seq - b.seq).map((n) => n.order);
          expect([...ladder.walk()].map((n) => n.order)).toEqual(expected);
          expect(ladder.best()?.order).toBe(expected[0]);
          expect(ladder.size).toBe(live.length);
        }
      }),
      { numRuns: 200 },
    );
  });
});
