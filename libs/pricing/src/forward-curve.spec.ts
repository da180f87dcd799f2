import { describe, expect, it } from '@jest/globals';
import { forwardPrices, lowerEnvelope } from './forward-curve.js';
import { parseDecimal } from './decimal.js';
import { amountNanoUsd, feeNanoUsd, parseQuantityMicro, worstCaseFeeNanoUsd, worstCaseNanoUsd } from './quantity.js';

const H = 3_600_000;
const offer = { price: '2.00', currency: 'USD', energyKwhPerUnit: '0.5', energyIncluded: false, validUntil: 10 * H };
const slots = [
  { start: 0, end: 2 * H, price: '0.40', currency: 'USD', unit: 'kWh' as const },
  { start: 2 * H, end: 4 * H, price: '-20', currency: 'GBP', unit: 'MWh' as const },
];

describe('forwardPrices', () => {
  it('prices each future slot like a live quote, converted and clipped to the window', () => {
    const rates = new Map([['GBP', parseDecimal('1.25')]]);
    expect(forwardPrices(offer, slots, rates, H, 3 * H)).toEqual([
      { start: H, end: 2 * H, effectiveNanoUsd: 2_200_000_000n },
      // 0.5 kWh × −20 GBP/MWh × 1.25 = −0.0125 USD
      { start: 2 * H, end: 3 * H, effectiveNanoUsd: 1_987_500_000n },
    ]);
  });

  it('gives an offer that includes its energy one flat price until its validity ends', () => {
    expect(forwardPrices({ ...offer, energyIncluded: true, validUntil: 5 * H }, [], new Map(), H, 8 * H)).toEqual([{ start: H, end: 5 * H, effectiveNanoUsd: 2_000_000_000n }]);
  });
});

describe('lowerEnvelope', () => {
  it('keeps the lowest price per interval and merges equal neighbours', () => {
    const a = [{ start: 0, end: 4, effectiveNanoUsd: 10n }];
    const b = [
      { start: 1, end: 2, effectiveNanoUsd: 5n },
      { start: 2, end: 6, effectiveNanoUsd: 10n },
    ];
    expect(lowerEnvelope([a, b])).toEqual([
      { start: 0, end: 1, effectiveNanoUsd: 10n },
      { start: 1, end: 2, effectiveNanoUsd: 5n },
      { start: 2, end: 6, effectiveNanoUsd: 10n },
    ]);
  });
});

describe('quantities and amounts', () => {
  it('parses quantities exactly to micro-units and refuses a seventh decimal', () => {
    expect(parseQuantityMicro('2.5')).toBe(2_500_000n);
    expect(() => parseQuantityMicro('0.0000001')).toThrow(/6 decimal places/);
  });

  it('rounds an amount half-even once, and a worst case (and its fee) up', () => {
    expect(amountNanoUsd(1_500_000n, 3n)).toBe(4n); // 4.5 → 4
    expect(amountNanoUsd(2_500_000n, 3n)).toBe(8n); // 7.5 → 8
    expect(worstCaseNanoUsd(1_500_000n, 3n)).toBe(5n);
    expect(feeNanoUsd(-100n, 200)).toBe(0n);
    expect(worstCaseFeeNanoUsd(101n, 200)).toBe(3n);
  });
});
