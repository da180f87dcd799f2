import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { compare, decimalOf, divideHalfEven, formatAtomic, multiply, parseDecimal, toAtomic, toAtomicExact, DecimalError } from './decimal.js';

const atomic = fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n });
const scale = fc.integer({ min: 0, max: 12 });

describe('decimals', () => {
  it('parses exactly, however many digits a price has', () => {
    expect(toAtomicExact(parseDecimal('0.1432'), 9)).toBe(143_200_000n);
    expect(toAtomicExact(parseDecimal('0.15'), 9)).toBe(150_000_000n);
    expect(toAtomicExact(parseDecimal('-1.05'), 2)).toBe(-105n);
    expect(toAtomicExact(parseDecimal('123456789012345678.123456789'), 9)).toBe(123456789012345678123456789n);
  });

  it('refuses what is not a plain decimal, and digits that would be lost', () => {
    for (const bad of ['1e3', '0x10', ' 1', '1.', '.5', '--1', '', 'NaN', '1'.repeat(40)]) expect(() => parseDecimal(bad)).toThrow(DecimalError);
    expect(() => toAtomicExact(parseDecimal('0.0000000001'), 9)).toThrow(DecimalError);
  });

  it('accepts exactly the plain decimals, and reads each the same however often it is asked', () => {
    // The grammar as a regular expression: the scanner must agree with it on any text.
    const reference = (text: string): { coefficient: bigint; exponent: number } | 'error' => {
      const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(text);
      if (m === null || (m[2] as string).length + (m[3] ?? '').length > 38) return 'error';
      const magnitude = BigInt(`${m[2]}${m[3] ?? ''}`);
      return { coefficient: m[1] === '-' ? -magnitude : magnitude, exponent: (m[3] ?? '').length };
    };
    const read = (text: string) => {
      try {
        return parseDecimal(text);
      } catch (error) {
        if (error instanceof DecimalError) return 'error';
        throw error;
      }
    };
    const text = fc.string({ unit: fc.constantFrom('0', '1', '7', '9', '.', '-', 'e', ' ', 'x'), maxLength: 42 });
    fc.assert(
      fc.property(text, (t) => {
        expect(read(t)).toEqual(reference(t));
        expect(read(t)).toEqual(reference(t)); // the second time from the cache
      }),
      { numRuns: 2_000 },
    );
  });

  it('round-trips atomic amounts through their decimal strings', () => {
    fc.assert(
      fc.property(atomic, scale, (a, s) => {
        expect(toAtomicExact(parseDecimal(formatAtomic(a, s)), s)).toBe(a);
      }),
    );
  });

  it('rounds half to even, within half a unit', () => {
    expect([5n, 15n, 25n, -5n, -15n, 14n, 16n].map((n) => divideHalfEven(n, 10n))).toEqual([0n, 2n, 2n, 0n, -2n, 1n, 2n]);
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }), fc.bigInt({ min: 1n, max: 10n ** 15n }), (n, d) => {
        const q = divideHalfEven(n, d);
        const error = q * d - n;
        const twice = 2n * (error < 0n ? -error : error);
        expect(twice <= d).toBe(true);
        if (twice === d) expect(q % 2n).toBe(0n);
      }),
    );
  });

  it('multiplies without losing a digit', () => {
    fc.assert(
      fc.property(atomic, scale, atomic, scale, (a, sa, b, sb) => {
        const product = multiply(decimalOf(a, sa), decimalOf(b, sb));
        expect(toAtomicExact(product, sa + sb)).toBe(a * b);
      }),
    );
  });

  it('keeps order when rounding (monotonic)', () => {
    fc.assert(
      fc.property(atomic, atomic, fc.integer({ min: 0, max: 20 }), scale, (a, b, e, s) => {
        const x = decimalOf(a, e);
        const y = decimalOf(b, e);
        if (compare(x, y) <= 0) expect(toAtomic(x, s) <= toAtomic(y, s)).toBe(true);
      }),
    );
  });
});
