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
}

/** The tariff slot in force for a zone at the quoting instant. */
export interface CurrentSlot {
  readonly zone: string;
  readonly kind: string;
  readonly price: string;
  readonly currency: string;
  readonly unit: 'kWh' | 'MWh';
  readonly seq: number;
}

/** An FX rate in force: one `base` costs `rate` `quote`. */
export interface FxInForce {
  readonly base: string;
  readonly quote: string;
  readonly rate: string;
  readonly asOf: Date;
}

export const offerKey = (o: { providerId: string; offerId: string }): string => `${o.providerId}\u0000${o.offerId}`;
