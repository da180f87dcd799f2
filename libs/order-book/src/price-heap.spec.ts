import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { PriceHeap } from './price-heap.js';

describe('PriceHeap', () => {
  it('pops and walks in ascending order, duplicates included', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -1_000, max: 1_000 }), { maxLength: 200 }), (keys) => {
        const sorted = [...keys].sort((a, b) => a - b);
        const heap = new PriceHeap<number>();
        for (const k of keys) heap.push(k, k);
        expect([...heap.ascending()]).toEqual(sorted);
        const popped: number[] = [];
        for (let k = heap.pop(); k !== undefined; k = heap.pop()) popped.push(k);
        expect(popped).toEqual(sorted);
      }),
    );
  });
});
