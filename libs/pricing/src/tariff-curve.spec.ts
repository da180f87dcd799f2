import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { TariffCurve, type Slot } from './tariff-curve.js';

const HALF_HOUR = 1_800_000;
const slot = (i: number, price: string): Slot<string> => ({ start: i * HALF_HOUR, end: (i + 1) * HALF_HOUR, price });

/** The naive reference: the last published slot covering t wins. */
function naiveAt(publications: readonly (readonly Slot<string>[])[], t: number): string | undefined {
  let found: string | undefined;
  for (const pub of publications) for (const s of pub) if (s.start <= t && t < s.end) found = s.price;
  return found;
}

describe('TariffCurve', () => {
  it('finds the slot in force, and nothing in a gap', () => {
    const curve = TariffCurve.of([slot(0, 'a'), slot(1, 'b'), slot(3, 'd')]);
    expect(curve.at(0)?.price).toBe('a');
    expect(curve.at(HALF_HOUR)?.price).toBe('b');
    expect(curve.at(2 * HALF_HOUR + 5)).toBeUndefined();
    expect(curve.at(3 * HALF_HOUR)?.price).toBe('d');
    expect(curve.window(HALF_HOUR, 3 * HALF_HOUR + 1).map((s) => s.price)).toEqual(['b', 'd']);
    expect(curve.nextBoundary(10)).toBe(HALF_HOUR);
  });

  it('agrees with a naive scan after any sequence of (overlapping) publications', () => {
    const pubSlot = fc
      .record({ start: fc.integer({ min: 0, max: 200 }), length: fc.integer({ min: 1, max: 50 }), price: fc.string({ minLength: 1, maxLength: 3 }) })
      .map(({ start, length, price }) => ({ start, end: start + length, price }));
    fc.assert(
      fc.property(fc.array(fc.array(pubSlot, { maxLength: 6 }), { maxLength: 6 }), (publications) => {
        const curve = publications.reduce((c, p) => c.merge(p), TariffCurve.empty<string>());
        for (let t = 0; t < 260; t += 1) expect(curve.at(t)?.price).toBe(naiveAt(publications, t));
        for (let i = 1; i < curve.slots.length; i += 1) expect(curve.slots[i]!.start).toBeGreaterThanOrEqual(curve.slots[i - 1]!.end);
      }),
    );
  });
});
