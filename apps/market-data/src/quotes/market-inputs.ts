import type { OfferAttributes } from '#contracts';

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

export type { FxInForce } from '#pricing';

export const offerKey = (o: { providerId: string; offerId: string }): string => `${o.providerId}\u0000${o.offerId}`;
