import { effectivePrice, type OfferPrice, type TariffPrice } from './effective-price.js';
import type { UsdRates } from './money.js';

/** A tariff slot as stored: [start, end) in epoch ms, with its price as published. */
export interface TariffSlot extends TariffPrice {
  readonly start: number;
  readonly end: number;
}

/** An offer's effective price over one future interval, in nano-USD per unit. */
export interface ForwardPrice {
  readonly start: number;
  readonly end: number;
  readonly effectiveNanoUsd: bigint;
}

/**
 * The effective price an offer would have in each future tariff slot of its zone, from `from`
 * until the offer's validity ends: the same arithmetic as a live quote (compute + kWh × tariff,
 * converted with the rates in force now). An offer that includes its energy has one flat price.
 * Slots must be sorted by start and not overlap (the caller picks one kind per instant).
 */
export function forwardPrices(
  offer: OfferPrice & { readonly validUntil: number },
  slots: readonly TariffSlot[],
  rates: UsdRates,
  from: number,
  until: number,
): ForwardPrice[] {
  const end = Math.min(until, offer.validUntil);
  if (end <= from) return [];
  if (offer.energyIncluded) {
    const p = effectivePrice(offer, undefined, rates);
    return p === undefined ? [] : [{ start: from, end, effectiveNanoUsd: p.effectiveNanoUsd }];
  }
  const out: ForwardPrice[] = [];
  for (const s of slots) {
    if (s.end <= from || s.start >= end) continue;
    const p = effectivePrice(offer, s, rates);
    if (p !== undefined) out.push({ start: Math.max(s.start, from), end: Math.min(s.end, end), effectiveNanoUsd: p.effectiveNanoUsd });
  }
  return out;
}

/**
 * The lowest of several offers' forward prices over each interval where any is known: the curve a
 * job would see if it waited. Boundaries are the union of the inputs' boundaries.
 */
export function lowerEnvelope(curves: readonly (readonly ForwardPrice[])[]): ForwardPrice[] {
  const cuts = new Set<number>();
  for (const c of curves) for (const p of c) cuts.add(p.start).add(p.end);
  const points = [...cuts].sort((a, b) => a - b);
  const out: ForwardPrice[] = [];
  for (let i = 0; i + 1 < points.length; i += 1) {
    const start = points[i] as number;
    const end = points[i + 1] as number;
    let best: bigint | undefined;
    for (const c of curves) {
      for (const p of c) {
        if (p.start <= start && p.end >= end && (best === undefined || p.effectiveNanoUsd < best)) best = p.effectiveNanoUsd;
      }
    }
    if (best === undefined) continue;
    const last = out.at(-1);
    if (last !== undefined && last.end === start && last.effectiveNanoUsd === best) out[out.length - 1] = { start: last.start, end, effectiveNanoUsd: last.effectiveNanoUsd };
    else out.push({ start, end, effectiveNanoUsd: best });
  }
  return out;
}
