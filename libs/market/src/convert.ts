import type { Order, Quote } from '#contracts';
import type { OfferQuote, OrderSpec } from '#order-book';
import { capacityMicro, parseQuantityMicro } from '#pricing';

/** Contract messages → the core's types (bigint, epoch ms), at the edge. */
export function offerQuoteOf(q: Quote): OfferQuote {
  const validUntil = Date.parse(q.validUntil);
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
    asOf: Date.parse(q.asOf),
    validUntil: q.pricedUntil === null ? validUntil : Math.min(validUntil, Date.parse(q.pricedUntil)),
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
    earliestStart: Date.parse(o.earliestStart),
    latestStart: Date.parse(o.latestStart),
    deadline: Date.parse(o.deadline),
    deferrable: o.deferrable,
    forecast: o.forecast.map((f) => ({ start: Date.parse(f.start), end: Date.parse(f.end), price: BigInt(f.effectiveNanoUsd) })),
    submittedAt: Date.parse(o.submittedAt),
  };
}
