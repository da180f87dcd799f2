import type { Quote } from '#contracts';
import { effectivePrice, fxCurrencyOf, usdRatesFrom } from '#pricing';
import type { CurrentSlot, FxInForce, OfferState } from './market-inputs.js';


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
        pricedUntil: slot === undefined ? null : slot.end.toISOString(),
        attributes: offer.attributes,
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
