import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { compare, formatAtomic, parseDecimal } from './decimal.js';
import { effectivePrice, tariffUsdPerKwh, type TariffPrice } from './effective-price.js';
import { MissingFxRateError, parseUsdRates, toNanoUsd } from './money.js';

const rates = parseUsdRates({ GBP: '1.27', EUR: '1.08' });
const offer = { price: '2.49', currency: 'USD', energyKwhPerUnit: '0.7', energyIncluded: false };
/** A decimal string with up to 4 decimal places, possibly negative (tariffs go below zero). */
const price = fc.bigInt({ min: -500_000n, max: 5_000_000n }).map((n) => formatAtomic(n, 4));

describe('effective price', () => {
  it('adds the energy at the tariff in force, converted exactly', () => {
    // 0.7 kWh × 25 GBp/kWh × 1.27 USD/GBP = 0.22225 USD
    const p = effectivePrice(offer, { price: '25', currency: 'GBX', unit: 'kWh' }, rates);
    expect(p).toEqual({ computeNanoUsd: 2_490_000_000n, energyNanoUsd: 222_250_000n, effectiveNanoUsd: 2_712_250_000n });
  });

  it('ignores the tariff when the price includes energy, and needs one when it does not', () => {
    expect(effectivePrice({ ...offer, energyIncluded: true }, undefined, rates)?.effectiveNanoUsd).toBe(2_490_000_000n);
    expect(effectivePrice(offer, undefined, rates)).toBeUndefined();
  });

  it('is cheaper when the tariff is negative (the buyer is paid to consume)', () => {
    const p = effectivePrice(offer, { price: '-2.5', currency: 'GBX', unit: 'kWh' }, rates);
    expect(p?.energyNanoUsd).toBe(-22_225_000n);
    expect(p?.effectiveNanoUsd).toBeLessThan(2_490_000_000n);
  });

  it('converts a slot again when the rates change, and gives each rate set its own answer', () => {
    // Slots are remembered by identity with the rates used: the same slot object under new rates
    // (an FX tick) must not get the old conversion back, nor a twin slot a stale one.
    const slot: TariffPrice = { price: '100', currency: 'EUR', unit: 'MWh' };
    const dearer = parseUsdRates({ EUR: '1.20' });
    const at = (r: typeof rates) => effectivePrice(offer, slot, r)?.energyNanoUsd;
    expect(at(rates)).toBe(75_600_000n); // 0.7 kWh × 0.1 EUR/kWh × 1.08
    expect(at(dearer)).toBe(84_000_000n); // × 1.20
    expect(at(rates)).toBe(75_600_000n);
    for (let i = 0; i < 20; i += 1) effectivePrice(offer, { ...slot, price: String(i) }, rates); // more slots than it remembers
    expect(at(dearer)).toBe(84_000_000n);
    expect(effectivePrice(offer, { ...slot, price: '200' }, rates)?.energyNanoUsd).toBe(151_200_000n);
  });

  it('says which FX rate is missing', () => {
    expect(() => effectivePrice(offer, { price: '90', currency: 'JPY', unit: 'MWh' }, rates)).toThrow(MissingFxRateError);
  });

  it('treats a price per MWh as a thousandth of it per kWh', () => {
    fc.assert(
      fc.property(price, (p) => {
        const perMwh = tariffUsdPerKwh({ price: p, currency: 'EUR', unit: 'MWh' }, rates);
        const perKwh = tariffUsdPerKwh({ price: p, currency: 'EUR', unit: 'kWh' }, rates);
        expect(toNanoUsd({ coefficient: perMwh.coefficient * 1_000n, exponent: perMwh.exponent })).toBe(toNanoUsd(perKwh));
      }),
    );
  });

  it('treats 100 pence as one pound', () => {
    fc.assert(
      fc.property(price, (p) => {
        const pence = tariffUsdPerKwh({ price: p, currency: 'GBX', unit: 'kWh' }, rates);
        const pounds = tariffUsdPerKwh({ price: p, currency: 'GBP', unit: 'kWh' }, rates);
        expect(toNanoUsd({ coefficient: pence.coefficient * 100n, exponent: pence.exponent })).toBe(toNanoUsd(pounds));
      }),
    );
  });

  it('never falls when the tariff rises, and the parts add up to the whole within a nano-dollar', () => {
    fc.assert(
      fc.property(price, price, fc.bigInt({ min: 0n, max: 50_000n }).map((n) => formatAtomic(n, 3)), (a, b, kwh) => {
        const [lo, hi] = compare(parseDecimal(a), parseDecimal(b)) <= 0 ? [a, b] : [b, a];
        const t = (x: string): TariffPrice => ({ price: x, currency: 'EUR', unit: 'kWh' });
        const o = { ...offer, energyKwhPerUnit: kwh };
        const cheap = effectivePrice(o, t(lo), rates);
        const dear = effectivePrice(o, t(hi), rates);
        expect(cheap!.effectiveNanoUsd <= dear!.effectiveNanoUsd).toBe(true);
        const drift = cheap!.computeNanoUsd + cheap!.energyNanoUsd - cheap!.effectiveNanoUsd;
        expect(drift >= -1n && drift <= 1n).toBe(true);
      }),
    );
  });
});
