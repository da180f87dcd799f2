import type { OfferState } from './quotes.js';
import { bestEffectiveHistory, type ZoneSlot } from './history.js';

const MIN = 60_000;
const offer = (providerId: string, seq: number, price: string, energyIncluded: boolean, from: number, until: number): OfferState => ({
  providerId,
  offerId: 'o',
  lastSeq: seq,
  instrument: 'gpu:h100',
  region: 'r1',
  gridZone: 'Z',
  price,
  currency: 'USD',
  energyKwhPerUnit: '1',
  energyIncluded,
  capacity: '8',
  validFrom: from,
  validUntil: until,
  attributes: { tier: 'spot', interruptible: false, dataPolicy: 'no-retention', hardware: 'H100' },
});
const slot = (start: number, end: number, price: string, kind = 'day-ahead'): ZoneSlot => ({ zone: 'Z', kind, start: start * MIN, end: end * MIN, price, currency: 'USD', unit: 'kWh', seq: 1 });

describe('best effective price history', () => {
  it('prices each instant with the tick, tariff slot and rates in force then, and names the best', () => {
    const ticks = [
      offer('all-in', 1, '2.00', true, 0, 100 * MIN),
      offer('metered', 1, '1.50', false, 0, 100 * MIN),
      offer('metered', 2, '1.00', false, 50 * MIN, 100 * MIN),
    ];
    const slots = [slot(0, 30, '0.10'), slot(30, 60, '0.80'), slot(60, 120, '0.20'), slot(60, 90, '0.05', 'real-time')];
    const points = bestEffectiveHistory(ticks, slots, [], [10, 40, 55, 70, 95, 150].map((m) => m * MIN));
    const summary = points.map((p) => (p === undefined ? null : [p.providerId, p.computeNanoUsd, p.energyNanoUsd, p.effectiveNanoUsd]));
    expect(summary).toEqual([
      ['metered', 1_500_000_000n, 100_000_000n, 1_600_000_000n], // 1.50 + 1 kWh × 0.10
      ['all-in', 2_000_000_000n, 0n, 2_000_000_000n], // metered is 1.50 + 0.80 = 2.30 here
      ['metered', 1_000_000_000n, 800_000_000n, 1_800_000_000n], // its second tick, in force from 50 min
      ['metered', 1_000_000_000n, 50_000_000n, 1_050_000_000n], // the real-time slot over the day-ahead one
      ['metered', 1_000_000_000n, 200_000_000n, 1_200_000_000n],
      null, // nothing in force
    ]);
  });

  it('skips an offer it cannot price (no tariff, or no rate for its currency yet)', () => {
    const gbp = { ...offer('sterling', 1, '1.00', true, 0, 100 * MIN), currency: 'GBP' };
    const noTariff = offer('metered', 1, '0.50', false, 0, 100 * MIN);
    const fx = [{ base: 'GBP', quote: 'USD', rate: '1.25', asOf: new Date(20 * MIN) }];
    const points = bestEffectiveHistory([gbp, noTariff], [], fx, [10 * MIN, 30 * MIN]);
    expect(points.map((p) => p?.effectiveNanoUsd ?? null)).toEqual([null, 1_250_000_000n]);
  });
});
