import type { Quote } from '#contracts';
import { divideBy, effectivePrice, parseDecimal, SUBUNIT_CURRENCIES, type Decimal, type UsdRates } from '#pricing';
import type { CurrentSlot, FxInForce, OfferState } from './market-inputs.js';

/** Digits kept when an FX rate is only known the other way round (USD→X) and must be inverted. */
const INVERSE_RATE_DIGITS = 18;

/**
 * USD value of one unit of each currency, from the rates in force. A direct X→USD rate wins over
 * an inverted USD→X one; the as-of of the newest rate used is reported as the quote's FX source.
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

/** Currencies whose USD rate a price in `currency` needs (pence go through pounds). */
export function fxCurrencyOf(currency: string): string | undefined {
  const base = SUBUNIT_CURRENCIES[currency]?.of ?? currency;
  return base === 'USD' ? undefined : base;
}

export type QuoteOutcome =
  | { readonly ok: true; readonly quote: Quote }
  | { readonly ok: false; readonly offer: OfferState; readonly missing: 'tariff' | 'fx' | 'not-in-force' };

/**
 * The effective quote of each offer at `now`. Pure: the same inputs give the same quotes, which
 * is what lets the backtester run this very code.
 */
export function computeQuotes(
  offers: readonly OfferState[],
  slots: ReadonlyMap<string, CurrentSlot>,
  fx: readonly FxInForce[],
  now: Date,
): QuoteOutcome[] {
  const { rates, asOf } = usdRatesFrom(fx);
  return offers.map((offer): QuoteOutcome => {
    if (!(offer.validFrom <= now && now < offer.validUntil)) return { ok: false, offer, missing: 'not-in-force' };
    const slot = offer.energyIncluded ? undefined : slots.get(offer.gridZone);
    const needed = [fxCurrencyOf(offer.currency), slot && fxCurrencyOf(slot.currency)].filter((c): c is string => c !== undefined);
    if (needed.some((c) => !rates.has(c))) return { ok: false, offer, missing: 'fx' };
    const price = effectivePrice(offer, slot, rates);
    if (price === undefined) return { ok: false, offer, missing: 'tariff' };
    const fxTimes = needed.map((c) => asOf.get(c)?.getTime() ?? 0);
    return {
      ok: true,
      quote: {
        providerId: offer.providerId,
        offerId: offer.offerId,
        instrument: offer.instrument,
        region: offer.region,
        gridZone: offer.gridZone,
        computeNanoUsd: price.computeNanoUsd.toString(),
        energyNanoUsd: price.energyNanoUsd.toString(),
        effectiveNanoUsd: price.effectiveNanoUsd.toString(),
        capacity: offer.capacity,
        validUntil: offer.validUntil.toISOString(),
        asOf: now.toISOString(),
        sources: {
          tickSeq: offer.lastSeq,
          tariffSeq: slot?.seq ?? null,
          fxAsOf: fxTimes.length === 0 ? null : new Date(Math.max(...fxTimes)).toISOString(),
        },
      },
    };
  });
}
