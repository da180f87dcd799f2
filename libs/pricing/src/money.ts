import { decimalOf, divideBy, multiply, parseDecimal, toAtomic, type Decimal } from './decimal.js';

/** Atomic scale per currency: USD in nano-dollars, so $0.15 per million tokens is 150 nano-USD per token. */
export const USD_SCALE = 9;

/**
 * Currencies as tariff and price files quote them. GBX is pence sterling (1/100 GBP), as the
 * Octopus Agile file does; it converts through GBP's rate.
 */
export const SUBUNIT_CURRENCIES: Readonly<Record<string, { readonly of: string; readonly divisor: bigint }>> = {
  GBX: { of: 'GBP', divisor: 100n },
};

/** How many USD one unit of a currency is worth: the FX rates in force (base → USD). */
export type UsdRates = ReadonlyMap<string, Decimal>;

export class MissingFxRateError extends Error {
  constructor(readonly currency: string) {
    super(`no FX rate from ${currency} to USD`);
    this.name = 'MissingFxRateError';
  }
}

/** An exact amount in `currency` (decimal string or Decimal) as an exact USD Decimal. */
export function toUsd(amount: Decimal, currency: string, rates: UsdRates): Decimal {
  const sub = SUBUNIT_CURRENCIES[currency];
  if (sub !== undefined) return toUsd(divideBy(amount, sub.divisor, 2), sub.of, rates);
  if (currency === 'USD') return amount;
  const rate = rates.get(currency);
  if (rate === undefined) throw new MissingFxRateError(currency);
  return multiply(amount, rate);
}

/** Nano-USD, rounded half-even once, from any exact USD Decimal. */
export function toNanoUsd(usd: Decimal): bigint {
  return toAtomic(usd, USD_SCALE);
}

export function parseUsdRates(rates: Readonly<Record<string, string>>): UsdRates {
  return new Map(Object.entries(rates).map(([c, r]) => [c, parseDecimal(r)]));
}

export const ONE = decimalOf(1n);
