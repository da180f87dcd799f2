import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { IdIndex } from './id-index.js';

interface Item {
  readonly id: string;
  readonly n: number;
  tag: number;
}

describe('IdIndex', () => {
  it('agrees with a Map through adds, deletes and lookups, across growth, shrinking and backward shifts', () => {
    // Few distinct ids and long runs: slots are deleted, reused and rebuilt many times over.
    const op = fc.tuple(fc.constantFrom('add', 'delete', 'remove', 'get'), fc.nat({ max: 300 }));
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 3_000 }), (ops) => {
        const index = new IdIndex<Item>();
        const model = new Map<string, Item>();
        let n = 0;
        for (const [kind, k] of ops) {
          const id = `order-${k}`;
          if (kind === 'add') {
            if (model.has(id)) continue; // add requires a new id
            const item = { id, n: (n += 1), tag: 0 };
            index.add(item);
            model.set(id, item);
          } else if (kind === 'delete') {
            expect(index.delete(id)).toBe(model.get(id));
            model.delete(id);
          } else if (kind === 'remove') {
            // By identity: the value itself, found through the tag the index kept on it.
            const item = model.get(id);
            if (item === undefined) continue;
            index.remove(item);
            model.delete(id);
            expect(index.get(id)).toBeUndefined();
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
    const items = Array.from({ length: 5_000 }, (_, i) => ({ id: `ask:provider-${i % 7}:eu-west-${i}`, n: i, tag: 0 }));
    for (const item of items) index.add(item);
    for (const item of items) expect(index.get(item.id)).toBe(item);
    // Same length and prefix as the ids in the index, never added: every probe must miss.
    for (let i = 5_000; i < 10_000; i += 1) expect(index.get(`ask:provider-${i % 7}:eu-west-${i}`)).toBeUndefined();
    expect(index.get('')).toBeUndefined();
  });

  it('allows deleting while iterating', () => {
    const index = new IdIndex<Item>();
    for (let i = 0; i < 100; i += 1) index.add({ id: `o${i}`, n: i, tag: 0 });
    const seen: number[] = [];
    for (const item of index.values()) {
      seen.push(item.n);
      if (item.n % 2 === 0) index.delete(item.id);
    }
    expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect([...index.values()].map((i) => i.n).sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => 2 * i + 1));
  });

  it('refuses to remove a value that is not in it, instead of probing forever', () => {
    const index = new IdIndex<Item>();
    const kept = { id: 'kept', n: 1, tag: 0 };
    index.add(kept);
    const gone = { id: 'gone', n: 2, tag: 0 };
    index.add(gone);
    index.remove(gone);
    expect(() => index.remove(gone)).toThrow('gone is not in the index');
    expect(index.get('kept')).toBe(kept);
    expect(index.size).toBe(1);
  });
});
