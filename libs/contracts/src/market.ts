import { z } from 'zod';
import {
  currencyCode,
  decimalString,
  identifier,
  instantMs,
  instrument,
  isoInstant,
  nonNegativeDecimalString,
  sequenceNumber,
} from './primitives.js';

/** What a job's constraints can select on, besides region and provider. */
export const offerAttributesSchema = z
  .object({
    tier: z.enum(['spot', 'on-demand']),
    interruptible: z.boolean(),
    dataPolicy: z.enum(['no-retention', 'retention-30d', 'training-allowed']),
    hardware: z.string().regex(/^[\x20-\x7E]{1,64}$/, '1 to 64 printable ASCII characters'),
  })
  .strict();
export type OfferAttributes = z.infer<typeof offerAttributesSchema>;

/** `market.spot-prices.v1`: one provider offer's price and capacity, from `validFrom`. Key `providerId:offerId`. */
export const spotPriceTickSchema = z
  .object({
    providerId: identifier,
    offerId: identifier,
    seq: sequenceNumber,
    instrument,
    region: identifier,
    gridZone: identifier,
    /** Compute price per unit of the instrument, in `currency`. */
    price: nonNegativeDecimalString,
    currency: currencyCode,
    /** Energy drawn per unit (kWh per GPU-hour, or per million tokens). */
    energyKwhPerUnit: nonNegativeDecimalString,
    /** When true the price already pays for the energy, and the tariff is not added. */
    energyIncluded: z.boolean(),
    /** Units on offer (GPU-hours, millions of tokens). */
    capacity: nonNegativeDecimalString,
    validFrom: isoInstant,
    validUntil: isoInstant,
    attributes: offerAttributesSchema,
    publishedAt: isoInstant,
  })
  .strict()
  .refine((t) => instantMs(t.validUntil) > instantMs(t.validFrom), {
    message: 'validUntil must be after validFrom',
    path: ['validUntil'],
  });
export type SpotPriceTick = z.infer<typeof spotPriceTickSchema>;

const tariffSlotSchema = z
  .object({ start: isoInstant, end: isoInstant, price: decimalString })
  .strict()
  .refine((s) => instantMs(s.end) > instantMs(s.start), { message: 'end must be after start', path: ['end'] });

/** `market.energy-tariffs.v1`: a zone's prices per time slot. Key `zone`. Prices may be negative. */
export const energyTariffSchema = z
  .object({
    zone: identifier,
    kind: z.enum(['day-ahead', 'real-time', 'retail']),
    /** ISO 4217, or GBX for pence sterling. */
    currency: z.string().regex(/^[A-Z]{3}$/),
    unit: z.enum(['kWh', 'MWh']),
    slots: z.array(tariffSlotSchema).min(1).max(2_000),
    seq: sequenceNumber,
    publishedAt: isoInstant,
  })
  .strict();
export type EnergyTariff = z.infer<typeof energyTariffSchema>;

/** `market.fx-rates.v1`: one unit of `base` costs `rate` units of `quote`. Key `base:quote`. */
export const fxRateSchema = z
  .object({
    base: currencyCode,
    quote: currencyCode,
    rate: nonNegativeDecimalString.refine((r) => !/^0(\.0+)?$/.test(r), 'must be positive'),
    asOf: isoInstant,
  })
  .strict();
export type FxRate = z.infer<typeof fxRateSchema>;

/**
 * `market.quotes.v1`: the effective price of one offer now. Key `instrument`.
 * Prices are nano-USD per unit, as decimal strings of integers (bigint on both sides).
 */
export const quoteSchema = z
  .object({
    providerId: identifier,
    offerId: identifier,
    instrument,
    region: identifier,
    gridZone: identifier,
    computeNanoUsd: z.string().regex(/^-?\d+$/),
    energyNanoUsd: z.string().regex(/^-?\d+$/),
    effectiveNanoUsd: z.string().regex(/^-?\d+$/),
    capacity: nonNegativeDecimalString,
    validUntil: isoInstant,
    /**
     * The price holds until this instant: the end of the tariff slot it was computed with (null
     * when the energy is included). A new quote follows at that boundary; a buyer must not pay
     * this price after it.
     */
    pricedUntil: isoInstant.nullable(),
    attributes: offerAttributesSchema,
    asOf: isoInstant,
    sources: z
      .object({ tickSeq: sequenceNumber, tariffSeq: sequenceNumber.nullable(), fxAsOf: isoInstant.nullable() })
      .strict(),
  })
  .strict();
export type Quote = z.infer<typeof quoteSchema>;
