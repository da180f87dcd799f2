import type { OfferAttributes, Quote } from '#contracts';
import { effectivePrice, fxCurrencyOf, usdRatesFrom, type FxInForce } from '#pricing';

/** An offer's current state, as market-data keeps it in `market.offers`. */
export interface OfferState {
  readonly providerId: string;
  readonly offerId: string;
  readonly lastSeq: number;
  readonly instrument: string;
  readonly region: string;
  readonly gridZone: string;
  readonly price: string;
  readonly currency: string;
  readonly energyKwhPerUnit: string;
  readonly energyIncluded: boolean;
  readonly capacity: string;
  readonly validFrom: Date;
  readonly validUntil: Date;
  readonly attributes: OfferAttributes;
}

/** The tariff slot in force for a zone at the quoting instant. */
export interface CurrentSlot {
  readonly zone: string;
  readonly kind: string;
  readonly price: string;
  readonly currency: string;
  readonly unit: 'kWh' | 'MWh';
  readonly seq: number;
  /** The slot's end: the quote's price holds until then. */
  readonly end: Date;
}


export const offerKey = (o: { providerId: string; offerId: string }): string => `${o.providerId}\u0000${o.offerId}`;

export type QuoteOutcome =
  | { readonly ok: true; readonly quote: Quote }
  | { readonly ok: false; readonly offer: OfferState; readonly missing: 'tariff' | 'fx' | 'not-in-force' };

/**
 * The effective quote of each offer at `now`. Pure: the same inputs give the same quotes, which
 * is what lets the backtester run this very code (market-data runs it live).
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
