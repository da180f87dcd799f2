import { instantMs, type Order, type Quote } from '#contracts';
import type { OfferQuote, OrderSpec } from '#order-book';
import type { PricedOffer } from './quotes.js';
import { capacityMicro, parseQuantityMicro } from '#pricing';

/** Contract messages → the core's types (bigint, epoch ms), at the edge. */
export function offerQuoteOf(q: Quote): OfferQuote {
  const validUntil = instantMs(q.validUntil);
  return {
    providerId: q.providerId,
    offerId: q.offerId,
    instrument: q.instrument,
    region: q.region,
    gridZone: q.gridZone,
    computeNanoUsd: BigInt(q.computeNanoUsd),
    energyNanoUsd: BigInt(q.energyNanoUsd),
    effectiveNanoUsd: BigInt(q.effectiveNanoUsd),
    capacityMicro: capacityMicro(q.capacity),
    tickSeq: q.sources.tickSeq,
    asOf: instantMs(q.asOf),
    validUntil: q.pricedUntil === null ? validUntil : Math.min(validUntil, instantMs(q.pricedUntil)),
    attributes: { tier: q.attributes.tier, interruptible: q.attributes.interruptible, dataPolicy: q.attributes.dataPolicy },
  };
}

export function orderSpecOf(o: Order): OrderSpec {
  return {
    jobId: o.jobId,
    customerId: o.customerId,
    instrument: o.instrument,
    quantityMicro: parseQuantityMicro(o.quantity),
    limitNanoUsd: BigInt(o.limitNanoUsd),
    allowSplit: o.allowSplit,
    constraints: o.constraints,
    earliestStart: instantMs(o.earliestStart),
    latestStart: instantMs(o.latestStart),
    deadline: instantMs(o.deadline),
    deferrable: o.deferrable,
    forecast: o.forecast.map((f) => ({ start: instantMs(f.start), end: instantMs(f.end), price: BigInt(f.effectiveNanoUsd) })),
    submittedAt: instantMs(o.submittedAt),
  };
}

/**
 * The book's view of a priced offer: what `offerQuoteOf(quoteOf(p, now))` gives, without the
 * trip through the contract's strings (the backtester prices every tick this way).
 */
export function offerQuoteOfPriced(p: PricedOffer, now: number): OfferQuote {
  const { offer, slot } = p;
  const validUntil = offer.validUntil;
  // Fields written out, not spread: this runs for every quote, and a spread is slow in V8.
  return {
    providerId: offer.providerId,
    offerId: offer.offerId,
    instrument: offer.instrument,
    region: offer.region,
    gridZone: offer.gridZone,
    computeNanoUsd: p.computeNanoUsd,
    energyNanoUsd: p.energyNanoUsd,
    effectiveNanoUsd: p.effectiveNanoUsd,
    capacityMicro: capacityMicro(offer.capacity),
    tickSeq: offer.lastSeq,
    asOf: now,
    validUntil: slot === undefined ? validUntil : Math.min(validUntil, slot.end.getTime()),
    attributes: { tier: offer.attributes.tier, interruptible: offer.attributes.interruptible, dataPolicy: offer.attributes.dataPolicy },
  };
}
