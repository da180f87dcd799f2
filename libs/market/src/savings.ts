import { amountNanoUsd } from '#pricing';
import type { SnapshotOffer } from './snapshot.js';

/**
 * The two naive choices a job is measured against, as unit prices at submission (the same two as
 * the backtester's): the first-listed eligible offer (the oldest ask in the book: what a customer
 * picking the first provider they found would pay), and the cheapest eligible offer on compute
 * alone (what a customer ignoring energy would pick), each at its effective price, energy included.
 */
export interface Baselines {
  readonly firstListedNanoUsd: bigint | undefined;
  readonly cheapestIgnoringEnergyNanoUsd: bigint | undefined;
}

export function baselinesOf(eligible: readonly SnapshotOffer[], now: number): Baselines {
  let first: NonNullable<SnapshotOffer['ask']> | undefined;
  let cheapest: NonNullable<SnapshotOffer['ask']> | undefined;
  for (const o of eligible) {
    const ask = o.ask;
    if (ask === undefined || ask.availableMicro <= 0n || ask.validUntil <= now) continue;
    if (first === undefined || ask.priority < first.priority) first = ask;
    if (cheapest === undefined || ask.computeNanoUsd < cheapest.computeNanoUsd || (ask.computeNanoUsd === cheapest.computeNanoUsd && ask.priority < cheapest.priority)) cheapest = ask;
  }
  return { firstListedNanoUsd: first?.effectiveNanoUsd, cheapestIgnoringEnergyNanoUsd: cheapest?.effectiveNanoUsd };
}

export interface JobSavings {
  /** What the filled quantity cost (compute and energy; the fee is the same whichever provider). */
  readonly paidNanoUsd: bigint;
  readonly firstListedNanoUsd: bigint | undefined;
  readonly cheapestIgnoringEnergyNanoUsd: bigint | undefined;
  readonly savedVsFirstListedNanoUsd: bigint | undefined;
  readonly savedVsCheapestIgnoringEnergyNanoUsd: bigint | undefined;
}

/** What a job paid for its filled quantity against what the same quantity would have cost at each baseline. */
export function savingsOf(filledMicro: bigint, paidNanoUsd: bigint, baselines: Baselines): JobSavings {
  const at = (unit: bigint | undefined) => (unit === undefined ? undefined : amountNanoUsd(filledMicro, unit));
  const first = at(baselines.firstListedNanoUsd);
  const cheapest = at(baselines.cheapestIgnoringEnergyNanoUsd);
  return {
    paidNanoUsd,
    firstListedNanoUsd: first,
    cheapestIgnoringEnergyNanoUsd: cheapest,
    savedVsFirstListedNanoUsd: first === undefined ? undefined : first - paidNanoUsd,
    savedVsCheapestIgnoringEnergyNanoUsd: cheapest === undefined ? undefined : cheapest - paidNanoUsd,
  };
}
