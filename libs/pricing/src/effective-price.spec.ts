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
