import { add, decimalOf, divideBy, multiply, parseDecimal, type Decimal } from './decimal.js';
import { toNanoUsd, toUsd, type UsdRates } from './money.js';

export type EnergyUnit = 'kWh' | 'MWh';

/** A tariff price as published: per kWh or per MWh, in any currency, possibly negative. */
export interface TariffPrice {
  readonly price: string;
  readonly currency: string;
  readonly unit: EnergyUnit;
}

export interface OfferPrice {
  /** Compute price per unit of the instrument, as published. */
  readonly price: string;
  readonly currency: string;
  readonly energyKwhPerUnit: string;
  readonly energyIncluded: boolean;
}

/** Nano-USD per unit of the instrument, split so a buyer sees what the energy costs. */
export interface EffectivePrice {
  readonly computeNanoUsd: bigint;
  readonly energyNanoUsd: bigint;
  readonly effectiveNanoUsd: bigint;
}

/**
 * The last few tariff slots converted to USD per kWh, by identity with the rates used. Every offer
 * of a zone is priced against the same slot object until the slot ends (or the rates change), so
 * the per-MWh division and the FX product are done once per slot and zone, not once per quote.
 * A ring of identity compares: cheaper than a WeakMap's lookup, and a miss only recomputes.
 * Sound because slots and rate sets are values: every caller builds new ones, never changes one.
 */
const RECENT_TARIFFS = 8;
const recentTariffs: (TariffPrice | undefined)[] = new Array<TariffPrice | undefined>(RECENT_TARIFFS).fill(undefined);
const recentRates: (UsdRates | undefined)[] = new Array<UsdRates | undefined>(RECENT_TARIFFS).fill(undefined);
const recentUsd: (Decimal | undefined)[] = new Array<Decimal | undefined>(RECENT_TARIFFS).fill(undefined);
let nextRecent = 0;

/** A tariff as exact USD per kWh. */
export function tariffUsdPerKwh(tariff: TariffPrice, rates: UsdRates): Decimal {
  for (let i = 0; i < RECENT_TARIFFS; i += 1) {
    if (recentTariffs[i] === tariff && recentRates[i] === rates) return recentUsd[i] as Decimal;
  }
  const usd = convertTariff(tariff, rates);
  recentTariffs[nextRecent] = tariff;
  recentRates[nextRecent] = rates;
  recentUsd[nextRecent] = usd;
  nextRecent = (nextRecent + 1) % RECENT_TARIFFS;
  return usd;
}

function convertTariff(tariff: TariffPrice, rates: UsdRates): Decimal {
  const perUnit = parseDecimal(tariff.price);
  const perKwh = tariff.unit === 'MWh' ? divideBy(perUnit, 1_000n, 3) : perUnit;
  return toUsd(perKwh, tariff.currency, rates);
}

/**
 * compute + (energyIncluded ? 0 : kWh per unit × tariff), in nano-USD per unit. Each part is
 * computed exactly and rounded once; the effective price is the exact sum rounded once, so the
 * parts may differ from it by a nano-dollar at most, never by a float's error.
 * `tariff` is undefined when the zone has no slot in force: an offer that includes its energy
 * is still priced; one that does not cannot be, and the caller must not quote it.
 */
export function effectivePrice(offer: OfferPrice, tariff: TariffPrice | undefined, rates: UsdRates): EffectivePrice | undefined {
  const compute = toUsd(parseDecimal(offer.price), offer.currency, rates);
  let energy = decimalOf(0n);
  if (!offer.energyIncluded) {
    if (tariff === undefined) return undefined;
    energy = multiply(parseDecimal(offer.energyKwhPerUnit), tariffUsdPerKwh(tariff, rates));
  }
  return {
    computeNanoUsd: toNanoUsd(compute),
    energyNanoUsd: toNanoUsd(energy),
    effectiveNanoUsd: toNanoUsd(add(compute, energy)),
  };
}
