import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { IdIndex } from './id-index.js';

interface Item {
  readonly id: string;
  readonly n: number;
}

describe('IdIndex', () => {
  it('agrees with a Map through adds, deletes and lookups, across rebuilds and tombstones', () => {
    // Few distinct ids and long runs: slots are deleted, reused and rebuilt many times over.
    const op = fc.tuple(fc.constantFrom('add', 'delete', 'get'), fc.nat({ max: 300 }));
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 3_000 }), (ops) => {
        const index = new IdIndex<Item>();
        const model = new Map<string, Item>();
        let n = 0;
        for (const [kind, k] of ops) {
          const id = `order-${k}`;
          if (kind === 'add') {
            if (model.has(id)) continue; // add requires a new id
            const item = { id, n: (n += 1) };
            index.add(item);
            model.set(id, item);
          } else if (kind === 'delete') {
            expect(index.delete(id)).toBe(model.get(id));
            model.delete(id);
          } else expect(index.get(id)).toBe(model.get(id));
          expect(index.size).toBe(model.size);
        }
        expect(new Set(index.values())).toEqual(new Set(model.values()));
      }),
      { numRuns: 100 },
    );
  });

  it('finds ids that share a hash slot, and compares the whole id, not only its hash', () => {
    const index = new IdIndex<Item>();
    const items = Array.from({ length: 5_000 }, (_, i) => ({ id: `ask:provider-${i % 7}:eu-west-${i}`, n: i }));
    for (const item of items) index.add(item);
    for (const item of items) expect(index.get(item.id)).toBe(item);
    // Same length and prefix as the ids in the index, never added: every probe must miss.
    for (let i = 5_000; i < 10_000; i += 1) expect(index.get(`ask:provider-${i % 7}:eu-west-${i}`)).toBeUndefined();
    expect(index.get('')).toBeUndefined();
  });

  it('allows deleting while iterating', () => {
    const index = new IdIndex<Item>();
    for (let i = 0; i < 100; i += 1) index.add({ id: `o${i}`, n: i });
    const seen: number[] = [];
    for (const item of index.values()) {
      seen.push(item.n);
      if (item.n % 2 === 0) index.delete(item.id);
    }
    expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect([...index.values()].map((i) => i.n).sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => 2 * i + 1));
  });
});
