import { instantMs, type OfferAttributes, type Quote, type SpotPriceTick } from '#contracts';
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
  /** Epoch ms: a Date per field cost an allocation each on every tick, for a number read back. */
  readonly validFrom: number;
  readonly validUntil: number;
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


/** An offer's state from its latest accepted tick (market-data stores it; the backtester keeps it in memory). */
export function offerStateOf(t: SpotPriceTick): OfferState {
  return {
    providerId: t.providerId,
    offerId: t.offerId,
    lastSeq: t.seq,
    instrument: t.instrument,
    region: t.region,
    gridZone: t.gridZone,
    price: t.price,
    currency: t.currency,
    energyKwhPerUnit: t.energyKwhPerUnit,
    energyIncluded: t.energyIncluded,
    capacity: t.capacity,
    validFrom: instantMs(t.validFrom),
    validUntil: instantMs(t.validUntil),
    attributes: t.attributes,
  };
}

export const offerKey = (o: { providerId: string; offerId: string }): string => `${o.providerId}\u0000${o.offerId}`;

export type QuoteOutcome =
  | { readonly ok: true; readonly quote: Quote }
  | { readonly ok: false; readonly offer: OfferState; readonly missing: 'tariff' | 'fx' | 'not-in-force' };

/** USD rates in force, with the instant each was published (`usdRatesFrom`'s result). */
export type UsdRatesInForce = ReturnType<typeof usdRatesFrom>;

/** An offer priced at an instant: what a quote says, in the engine's units. */
export interface PricedOffer {
  readonly offer: OfferState;
  readonly computeNanoUsd: bigint;
  readonly energyNanoUsd: bigint;
  readonly effectiveNanoUsd: bigint;
  /** The end of the tariff slot priced, when energy is not included. */
  readonly slot: CurrentSlot | undefined;
  /** When the newest FX rate used was published (epoch ms), or null when none was needed. */
  readonly fxAsOf: number | null;
}

export type PriceOutcome = { readonly ok: true; readonly priced: PricedOffer } | { readonly ok: false; readonly missing: 'tariff' | 'fx' | 'not-in-force' };

/** The slot in force per zone: a map, or anything that answers `get` as one would. */
export type SlotsInForce = Pick<ReadonlyMap<string, CurrentSlot>, 'get'>;

/**
 * One offer's effective price at `now`: compute + energy × the slot in force (unless energy is
 * included), in USD through the rates in force. The rule behind every quote, live or backtested.
 */
export function priceOffer(offer: OfferState, slots: SlotsInForce, usd: UsdRatesInForce, now: number): PriceOutcome {
  if (!(offer.validFrom <= now && now < offer.validUntil)) return { ok: false, missing: 'not-in-force' };
  const slot = offer.energyIncluded ? undefined : slots.get(offer.gridZone);
  const offerFx = fxCurrencyOf(offer.currency);
  const slotFx = slot === undefined ? undefined : fxCurrencyOf(slot.currency);
  if ((offerFx !== undefined && !usd.rates.has(offerFx)) || (slotFx !== undefined && !usd.rates.has(slotFx))) return { ok: false, missing: 'fx' };
  const price = effectivePrice(offer, slot, usd.rates);
  if (price === undefined) return { ok: false, missing: 'tariff' };
  // The newest rate used, of at most two: written out, as this runs for every quote.
  let fxAsOf: number | null = null;
  if (offerFx !== undefined) fxAsOf = Math.max(0, usd.asOf.get(offerFx)?.getTime() ?? 0);
  if (slotFx !== undefined) fxAsOf = Math.max(fxAsOf ?? 0, usd.asOf.get(slotFx)?.getTime() ?? 0);
  return { ok: true, priced: { offer, computeNanoUsd: price.computeNanoUsd, energyNanoUsd: price.energyNanoUsd, effectiveNanoUsd: price.effectiveNanoUsd, slot, fxAsOf } };
}

/** The contract quote of a priced offer. */
export function quoteOf(p: PricedOffer, now: number): Quote {
  const { offer, slot } = p;
  // The identity written out, not spread: V8 builds a spread followed by more fields on a slow path.
  return {
    providerId: offer.providerId,
    offerId: offer.offerId,
    instrument: offer.instrument,
    region: offer.region,
    gridZone: offer.gridZone,
    computeNanoUsd: p.computeNanoUsd.toString(),
    energyNanoUsd: p.energyNanoUsd.toString(),
    effectiveNanoUsd: p.effectiveNanoUsd.toString(),
    capacity: offer.capacity,
    validUntil: new Date(offer.validUntil).toISOString(),
    pricedUntil: slot === undefined ? null : slot.end.toISOString(),
    attributes: offer.attributes,
    asOf: new Date(now).toISOString(),
    sources: {
      tickSeq: offer.lastSeq,
      tariffSeq: slot?.seq ?? null,
      fxAsOf: p.fxAsOf === null ? null : new Date(p.fxAsOf).toISOString(),
    },
  };
}

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
  const usd = usdRatesFrom(fx);
  const at = now.getTime();
  return offers.map((offer): QuoteOutcome => {
    const outcome = priceOffer(offer, slots, usd, at);
    return outcome.ok ? { ok: true, quote: quoteOf(outcome.priced, at) } : { ok: false, offer, missing: outcome.missing };
  });
}
