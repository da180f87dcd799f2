import type { AskAttributes } from '#order-book';
import { TariffCurve, type EnergyUnit, type TariffSlot, type UsdRates } from '#pricing';

/** An offer in force: its published economics (for forecasts) and its live ask (for fills now). */
export interface SnapshotOffer {
  readonly providerId: string;
  readonly offerId: string;
  readonly instrument: string;
  readonly region: string;
  readonly gridZone: string;
  readonly validUntil: number;
  readonly attributes: AskAttributes;
  readonly price: string;
  readonly currency: string;
  readonly energyKwhPerUnit: string;
  readonly energyIncluded: boolean;
  /** The matching engine's ask, when it has one with capacity left. */
  readonly ask:
    | { readonly effectiveNanoUsd: bigint; readonly computeNanoUsd: bigint; readonly availableMicro: bigint; readonly validUntil: number; readonly priority: number }
    | undefined;
}

export interface Snapshot {
  readonly at: number;
  readonly offers: readonly SnapshotOffer[];
  /** Per zone, future slots without overlaps: real-time over day-ahead over retail. */
  readonly slots: ReadonlyMap<string, readonly TariffSlot[]>;
  readonly rates: UsdRates;
}

/** Tariff kinds from the least to the most precise: a later kind is laid over an earlier where they overlap. */
export const TARIFF_KIND_ORDER = ['retail', 'day-ahead', 'real-time'] as const;

export interface KindedSlot {
  readonly kind: string;
  readonly start: number;
  readonly end: number;
  readonly price: string;
  readonly currency: string;
  readonly unit: EnergyUnit;
}

/**
 * One zone's slots without overlaps: real-time over day-ahead over retail, so where a zone has a
 * day-ahead price and a real-time one for the same half-hour, the real-time price counts.
 */
export function mergeTariffKinds(slots: readonly KindedSlot[]): TariffSlot[] {
  let curve = TariffCurve.empty<{ price: string; currency: string; unit: EnergyUnit }>();
  for (const kind of TARIFF_KIND_ORDER) {
    curve = curve.merge(
      slots.filter((s) => s.kind === kind).map((s) => ({ start: s.start, end: s.end, price: { price: s.price, currency: s.currency, unit: s.unit } })),
    );
  }
  return curve.slots.map((s) => ({ start: s.start, end: s.end, ...s.price }));
}
