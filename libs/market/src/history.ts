import { usdRatesFrom, type FxInForce } from '#pricing';
import { priceOffer, type CurrentSlot, type OfferState } from './quotes.js';
import { mergeTariffKinds, type KindedSlot } from './snapshot.js';

/** A zone's tariff slot as stored, with its sequence number. */
export interface ZoneSlot extends KindedSlot {
  readonly zone: string;
  readonly seq: number;
}

/** The best (lowest) effective price in force at one instant, and whose it was. */
export interface BestPrice {
  readonly at: number;
  readonly providerId: string;
  readonly offerId: string;
  readonly region: string;
  readonly computeNanoUsd: bigint;
  readonly energyNanoUsd: bigint;
  readonly effectiveNanoUsd: bigint;
}

/**
 * The market's best effective price at each instant of `at` (ascending), priced by the very rule
 * of live quotes (`priceOffer`): each offer as its tick in force then said, energy at its zone's
 * slot in force then, FX at the rates published by then. Quotes are not stored as history; ticks,
 * tariffs and rates are, so the history is recomputed from them. `undefined` where nothing could
 * be priced. Pure; O(instants × (ticks + slots)), for the bounded windows a chart asks for.
 */
export function bestEffectiveHistory(ticks: readonly OfferState[], slots: readonly ZoneSlot[], fx: readonly FxInForce[], at: readonly number[]): (BestPrice | undefined)[] {
  // Per offer, its ticks by sequence: the newest one in force at an instant is the offer then.
  const byOffer = new Map<string, OfferState[]>();
  for (const t of ticks) {
    const key = `${t.providerId}\u0000${t.offerId}`;
    const list = byOffer.get(key) ?? [];
    list.push(t);
    byOffer.set(key, list);
  }
  for (const list of byOffer.values()) list.sort((a, b) => a.lastSeq - b.lastSeq);

  // Per zone, slots without overlaps (real-time over day-ahead over retail), by start.
  const byZone = new Map<string, { slots: ReturnType<typeof mergeTariffKinds>; seq: number }>();
  const zones = new Map<string, ZoneSlot[]>();
  for (const s of slots) zones.set(s.zone, [...(zones.get(s.zone) ?? []), s]);
  for (const [zone, list] of zones) byZone.set(zone, { slots: mergeTariffKinds(list), seq: Math.max(...list.map((s) => s.seq)) });

  const rates = [...fx].sort((a, b) => a.asOf.getTime() - b.asOf.getTime());
  let ratesUsed = 0;
  let usd = usdRatesFrom([]);

  return at.map((now) => {
    // Rates published by now (later ones for the same pair win, as usdRatesFrom reads them in order).
    let moved = false;
    while (ratesUsed < rates.length && (rates[ratesUsed] as FxInForce).asOf.getTime() <= now) {
      ratesUsed += 1;
      moved = true;
    }
    if (moved) usd = usdRatesFrom(latestPerPair(rates.slice(0, ratesUsed)));

    const current = new Map<string, CurrentSlot>();
    for (const [zone, z] of byZone) {
      const slot = z.slots.find((s) => s.start <= now && now < s.end);
      if (slot !== undefined) current.set(zone, { zone, kind: 'merged', price: slot.price, currency: slot.currency, unit: slot.unit, seq: z.seq, end: new Date(slot.end) });
    }

    let best: BestPrice | undefined;
    for (const list of byOffer.values()) {
      let offer: OfferState | undefined;
      for (let i = list.length - 1; i >= 0; i -= 1) {
        const t = list[i] as OfferState;
        if (t.validFrom <= now && now < t.validUntil) {
          offer = t;
          break;
        }
      }
      if (offer === undefined) continue;
      const outcome = priceOffer(offer, current, usd, now);
      if (!outcome.ok) continue;
      const p = outcome.priced;
      if (best === undefined || p.effectiveNanoUsd < best.effectiveNanoUsd) {
        best = { at: now, providerId: offer.providerId, offerId: offer.offerId, region: offer.region, computeNanoUsd: p.computeNanoUsd, energyNanoUsd: p.energyNanoUsd, effectiveNanoUsd: p.effectiveNanoUsd };
      }
    }
    return best;
  });
}

/** The newest rate of each currency pair. */
function latestPerPair(rates: readonly FxInForce[]): FxInForce[] {
  const latest = new Map<string, FxInForce>();
  for (const r of rates) latest.set(`${r.base}/${r.quote}`, r);
  return [...latest.values()];
}
