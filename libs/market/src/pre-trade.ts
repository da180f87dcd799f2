import { MAX_FORECAST_SLOTS, type ForecastSlot, type JobConstraints } from '#contracts';
import { askIdOf, eligible, OrderBook, type Ask, type Fill } from '#order-book';
import { forwardPrices, lowerEnvelope, MissingFxRateError } from '#pricing';
import type { Snapshot, SnapshotOffer } from './snapshot.js';

/**
 * What the gateway can say about a job before it is queued, from a market snapshot: whether its
 * constraints can be met at all, what it would fill at now, and the forecast it may wait on.
 * Pure: the same snapshot gives the same answers.
 */


function askOf(o: SnapshotOffer, validUntil: number, quantity: bigint, price: bigint): Ask {
  return { id: askIdOf(o.providerId, o.offerId), providerId: o.providerId, region: o.region, price, quantity, validUntil, attributes: o.attributes };
}

/** Offers of the instrument that the constraints allow, price and capacity aside. */
export function eligibleOffers(snapshot: Snapshot, instrument: string, constraints: JobConstraints, now: number): SnapshotOffer[] {
  return snapshot.offers.filter(
    (o) => o.instrument === instrument && eligible(askOf(o, o.validUntil, 1n, 0n), constraints, now),
  );
}

/** Why no offer could ever serve these terms, or undefined when some could. */
export function unsatisfiable(snapshot: Snapshot, instrument: string, constraints: JobConstraints, now: number): string | undefined {
  const ofInstrument = snapshot.offers.filter((o) => o.instrument === instrument);
  if (ofInstrument.length === 0) return `no provider offers ${instrument} now`;
  if (constraints.regions !== undefined) {
    const regions = new Set(ofInstrument.map((o) => o.region));
    if (!constraints.regions.some((r) => regions.has(r))) {
      return `${instrument} is offered in ${[...regions].sort().join(', ')}, not in ${constraints.regions.join(', ')}`;
    }
  }
  if (eligibleOffers(snapshot, instrument, constraints, now).length === 0) return `no offer of ${instrument} meets these constraints`;
  return undefined;
}

/** The fills the book would give now (pay-as-ask, best first), without resting anything. */
export function fillsNow(
  offers: readonly SnapshotOffer[],
  bid: { quantityMicro: bigint; limitNanoUsd: bigint; allowSplit: boolean; constraints: JobConstraints },
  now: number,
): { fills: readonly Fill[]; offers: Map<string, SnapshotOffer> } {
  const book = new OrderBook('pre-trade');
  const byAsk = new Map<string, SnapshotOffer>();
  // The engine's time priority, so equal prices fill in the same order as they would live.
  const live = offers.filter((o) => o.ask !== undefined && o.ask.availableMicro > 0n).sort((a, b) => (a.ask?.priority ?? 0) - (b.ask?.priority ?? 0));
  for (const o of live) {
    const ask = o.ask as NonNullable<SnapshotOffer['ask']>;
    byAsk.set(askIdOf(o.providerId, o.offerId), o);
    book.upsertAsk(askOf(o, ask.validUntil, ask.availableMicro, ask.effectiveNanoUsd), now);
  }
  const result = book.submitBid(
    { id: 'pre-trade', quantity: bid.quantityMicro, limit: bid.limitNanoUsd, constraints: bid.constraints, allowSplit: bid.allowSplit },
    now,
    false,
  );
  return { fills: result.fills, offers: byAsk };
}

/**
 * The best eligible effective price per future interval from `from` to `until`: each offer's
 * price in each tariff slot of its zone (the live quote's arithmetic), and the lowest of them.
 * Offers whose currency has no FX rate are left out rather than guessed.
 */
export function forecast(snapshot: Snapshot, offers: readonly SnapshotOffer[], from: number, until: number): ForecastSlot[] {
  const curves = [];
  for (const o of offers) {
    try {
      curves.push(forwardPrices({ ...o }, snapshot.slots.get(o.gridZone) ?? [], snapshot.rates, from, until));
    } catch (error) {
      if (!(error instanceof MissingFxRateError)) throw error;
    }
  }
  return lowerEnvelope(curves)
    .slice(0, MAX_FORECAST_SLOTS)
    .map((p) => ({ start: new Date(p.start).toISOString(), end: new Date(p.end).toISOString(), effectiveNanoUsd: p.effectiveNanoUsd.toString() }));
}
