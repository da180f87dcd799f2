import { divideBy, parseDecimal, type Decimal } from './decimal.js';
import { SUBUNIT_CURRENCIES, type UsdRates } from './money.js';

/** Digits kept when an FX rate is only known the other way round (USD→X) and must be inverted. */
const INVERSE_RATE_DIGITS = 18;

/** An FX rate in force: one `base` costs `rate` `quote`. */
export interface FxInForce {
  readonly base: string;
  readonly quote: string;
  readonly rate: string;
  readonly asOf: Date;
}

/**
 * USD value of one unit of each currency, from the rates in force. A direct X→USD rate wins over
 * an inverted USD→X one; the as-of of the rate used is reported per currency.
 */
export function usdRatesFrom(rates: readonly FxInForce[]): { rates: UsdRates; asOf: Map<string, Date> } {
  const out = new Map<string, Decimal>();
  const asOf = new Map<string, Date>();
  for (const r of rates) {
    if (r.quote === 'USD' && r.base !== 'USD') {
      out.set(r.base, parseDecimal(r.rate));
      asOf.set(r.base, r.asOf);
    }
  }
  for (const r of rates) {
    if (r.base === 'USD' && r.quote !== 'USD' && !out.has(r.quote)) {
      // 1 / rate, exactly enough for nano-USD prices of any sensible size.
      const rate = parseDecimal(r.rate);
      out.set(r.quote, divideBy({ coefficient: 10n ** BigInt(rate.exponent), exponent: 0 }, rate.coefficient, INVERSE_RATE_DIGITS));
      asOf.set(r.quote, r.asOf);
    }
  }
  return { rates: out, asOf };
}

/** The currency whose USD rate a price in `currency` needs (pence go through pounds); none for USD. */
export function fxCurrencyOf(currency: string): string | undefined {
  const base = SUBUNIT_CURRENCIES[currency]?.of ?? currency;
  return base === 'USD' ? undefined : base;
}
