import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { instantMs } from './primitives.js';

describe('instantMs', () => {
  it('is Date.parse on the instants producers write', () => {
    const instant = fc.date({ min: new Date('0001-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59.999Z'), noInvalidDate: true });
    fc.assert(
      fc.property(instant, fc.boolean(), (d, wholeSeconds) => {
        const iso = wholeSeconds ? d.toISOString().replace(/\.\d{3}Z$/, 'Z') : d.toISOString();
        expect(instantMs(iso)).toBe(Date.parse(iso));
      }),
      { numRuns: 5_000 },
    );
  });

  it('is Date.parse on anything else, odd or invalid', () => {
    for (const text of ['2026-02-30T00:00:00Z', '2026-01-01T24:00:00Z', '2026-01-01T23:59:60Z', '0050-06-01T00:00:00Z', '2026-01-01T00:00:00.12Z', '2026-01-01T00:00:00+01:00', '2026-13-01T00:00:00Z', '2026-1a-01T00:00:00Z', 'not a time'])
      expect(instantMs(text)).toEqual(Date.parse(text));
    // One character changed anywhere in a valid instant.
    const mutated = fc.tuple(fc.nat({ max: 23 }), fc.constantFrom('0', '9', '-', ':', 'T', 'Z', '.', ' ', '3', '2'));
    fc.assert(
      fc.property(mutated, ([at, c]) => {
        const base = '2026-10-01T12:34:56.789Z';
        const text = base.slice(0, at) + c + base.slice(at + 1);
        expect(instantMs(text)).toEqual(Date.parse(text));
      }),
    );
  });
});
