import { monthOf } from './tick-partitions.js';

describe('monthOf', () => {
  it('gives the first day of the UTC month, whatever the offset, and whichever month came before', () => {
    const cases: [string, string][] = [
      ['2026-11-28T08:00:00Z', '2026-11-01'],
      ['2026-11-30T23:59:59.999Z', '2026-11-01'],
      ['2026-12-01T00:00:00Z', '2026-12-01'],
      ['2026-11-30T23:30:00-01:00', '2026-12-01'],
      ['2026-11-01T00:30:00+01:00', '2026-10-01'],
      ['2026-11-15T12:00:00.000Z', '2026-11-01'],
      ['2024-02-29T12:00:00Z', '2024-02-01'],
      ['2026-11-01T00:00:00Z', '2026-11-01'],
      ['2026-10-31T23:59:59.999Z', '2026-10-01'],
    ];
    for (const [instant, month] of cases) expect([instant, monthOf(instant)]).toEqual([instant, month]);
    // Again in reverse, so each case follows a different month than it did.
    for (const [instant, month] of [...cases].reverse()) expect([instant, monthOf(instant)]).toEqual([instant, month]);
  });
});
