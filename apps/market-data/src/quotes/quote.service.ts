import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import type { EntityManager } from 'typeorm';
import { Topic, type Quote } from '#contracts';
import { encodeMessage, enqueueOutbox } from '#messaging';
import { AppSchema } from '#persistence';
import { LOGGER } from '#runtime';
import { marketMetrics } from '../market.metrics.js';
import { computeQuotes, fxCurrencyOf } from './quote-calculator.js';
import { offerKey, type CurrentSlot, type FxInForce, type OfferState } from './market-inputs.js';

/** Most offers one recomputation looks at (a full sweep after a tariff or FX change). */
const MAX_OFFERS_PER_SWEEP = 50_000;

interface OfferRow {
  provider_id: string;
  offer_id: string;
  last_seq: string;
  instrument: string;
  region: string;
  grid_zone: string;
  price: string;
  currency: string;
  energy_kwh_per_unit: string;
  energy_included: boolean;
  capacity: string;
  valid_from: Date;
  valid_until: Date;
}

export function offerFromRow(r: OfferRow): OfferState {
  return {
    providerId: r.provider_id,
    offerId: r.offer_id,
    lastSeq: Number(r.last_seq),
    instrument: r.instrument,
    region: r.region,
    gridZone: r.grid_zone,
    price: r.price,
    currency: r.currency.trim(),
    energyKwhPerUnit: r.energy_kwh_per_unit,
    energyIncluded: r.energy_included,
    capacity: r.capacity,
    validFrom: r.valid_from,
    validUntil: r.valid_until,
  };
}

const OFFER_COLUMNS = `provider_id, offer_id, last_seq, instrument, region, grid_zone, price, currency,
  energy_kwh_per_unit, energy_included, capacity, valid_from, valid_until`;

/**
 * Keeps `market.quotes` equal to the effective price of every offer in force, and publishes a
 * quote (through the outbox, in the caller's transaction) whenever one changes.
 */
@Injectable()
export class QuoteService {
  constructor(@Inject(LOGGER) private readonly logger: Logger) {}

  /** Offers in force at `now`, optionally only those in some grid zones. */
  async offersInForce(manager: EntityManager, now: Date, zones?: readonly string[]): Promise<OfferState[]> {
    const rows: OfferRow[] = await manager.query(
      `SELECT ${OFFER_COLUMNS} FROM "${AppSchema.Market}".offers
        WHERE valid_from <= $1 AND valid_until > $1 ${zones === undefined ? '' : 'AND grid_zone = ANY($3)'}
        ORDER BY provider_id, offer_id LIMIT $2`,
      zones === undefined ? [now, MAX_OFFERS_PER_SWEEP] : [now, MAX_OFFERS_PER_SWEEP, zones],
    );
    return rows.map(offerFromRow);
  }

  /** Recomputes the quotes of `offers` at `now`; returns how many changed (and were published). */
  async refresh(manager: EntityManager, offers: readonly OfferState[], now: Date): Promise<number> {
    if (offers.length === 0) return 0;
    const zones = [...new Set(offers.filter((o) => !o.energyIncluded).map((o) => o.gridZone))];
    const slots = await this.currentSlots(manager, zones, now);
    const currencies = new Set<string>();
    for (const o of offers) {
      const c = fxCurrencyOf(o.currency);
      if (c !== undefined) currencies.add(c);
    }
    for (const s of slots.values()) {
      const c = fxCurrencyOf(s.currency);
      if (c !== undefined) currencies.add(c);
    }
    const fx = currencies.size === 0 ? [] : await this.fxInForce(manager, [...currencies], now);

    const outcomes = computeQuotes(offers, slots, fx, now);
    const quotes: Quote[] = [];
    for (const o of outcomes) {
      if (o.ok) quotes.push(o.quote);
      else if (o.missing !== 'not-in-force') {
        marketMetrics.unpriceable.inc({ missing: o.missing });
        this.logger.debug({ providerId: o.offer.providerId, offerId: o.offer.offerId, missing: o.missing }, 'offer cannot be priced yet');
      }
    }
    const changed = await this.changedOnly(manager, quotes);
    if (changed.length === 0) return 0;
    await manager.query(
      `INSERT INTO "${AppSchema.Market}".quotes AS q
         (provider_id, offer_id, instrument, region, grid_zone, compute_nano_usd, energy_nano_usd, effective_nano_usd,
          capacity, valid_until, as_of, tick_seq, tariff_seq, fx_as_of)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::bigint[], $8::bigint[],
                            $9::numeric[], $10::timestamptz[], $11::timestamptz[], $12::bigint[], $13::bigint[], $14::timestamptz[])
       ON CONFLICT (provider_id, offer_id) DO UPDATE SET
         instrument = excluded.instrument, region = excluded.region, grid_zone = excluded.grid_zone,
         compute_nano_usd = excluded.compute_nano_usd, energy_nano_usd = excluded.energy_nano_usd,
         effective_nano_usd = excluded.effective_nano_usd, capacity = excluded.capacity, valid_until = excluded.valid_until,
         as_of = excluded.as_of, tick_seq = excluded.tick_seq, tariff_seq = excluded.tariff_seq, fx_as_of = excluded.fx_as_of`,
      [
        changed.map((q) => q.providerId),
        changed.map((q) => q.offerId),
        changed.map((q) => q.instrument),
        changed.map((q) => q.region),
        changed.map((q) => q.gridZone),
        changed.map((q) => q.computeNanoUsd),
        changed.map((q) => q.energyNanoUsd),
        changed.map((q) => q.effectiveNanoUsd),
        changed.map((q) => q.capacity),
        changed.map((q) => q.validUntil),
        changed.map((q) => q.asOf),
        changed.map((q) => q.sources.tickSeq),
        changed.map((q) => q.sources.tariffSeq),
        changed.map((q) => q.sources.fxAsOf),
      ],
    );
    await enqueueOutbox(manager, AppSchema.Market, changed.map((q) => encodeMessage(Topic.Quotes, q)));
    marketMetrics.quotesPublished.inc(changed.length);
    return changed.length;
  }

  /** Quotes whose price, capacity or validity differ from the last published ones. */
  private async changedOnly(manager: EntityManager, quotes: readonly Quote[]): Promise<Quote[]> {
    if (quotes.length === 0) return [];
    const rows: { provider_id: string; offer_id: string; fingerprint: string }[] = await manager.query(
      `SELECT q.provider_id, q.offer_id,
              concat_ws('|', compute_nano_usd, energy_nano_usd, effective_nano_usd, capacity::text, to_char(valid_until AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), tick_seq) AS fingerprint
         FROM "${AppSchema.Market}".quotes q
         JOIN unnest($1::text[], $2::text[]) AS k(provider_id, offer_id) USING (provider_id, offer_id)`,
      [quotes.map((q) => q.providerId), quotes.map((q) => q.offerId)],
    );
    const published = new Map(rows.map((r) => [offerKey({ providerId: r.provider_id, offerId: r.offer_id }), r.fingerprint]));
    return quotes.filter((q) => {
      const fingerprint = [q.computeNanoUsd, q.energyNanoUsd, q.effectiveNanoUsd, q.capacity, q.validUntil, q.sources.tickSeq].join('|');
      return published.get(offerKey(q)) !== fingerprint;
    });
  }

  /** The slot in force per zone; real-time beats day-ahead beats retail where several exist. */
  private async currentSlots(manager: EntityManager, zones: readonly string[], now: Date): Promise<Map<string, CurrentSlot>> {
    if (zones.length === 0) return new Map();
    const rows: { zone: string; kind: string; price: string; currency: string; unit: 'kWh' | 'MWh'; seq: string }[] = await manager.query(
      `SELECT DISTINCT ON (zone) zone, kind, price, currency, unit, seq
         FROM "${AppSchema.Market}".tariff_slots
        WHERE zone = ANY($1) AND slot_start <= $2 AND slot_end > $2
        ORDER BY zone, CASE kind WHEN 'real-time' THEN 0 WHEN 'day-ahead' THEN 1 ELSE 2 END, slot_start DESC`,
      [zones, now],
    );
    return new Map(rows.map((r) => [r.zone, { zone: r.zone, kind: r.kind, price: r.price, currency: r.currency, unit: r.unit, seq: Number(r.seq) }]));
  }

  private async fxInForce(manager: EntityManager, currencies: readonly string[], now: Date): Promise<FxInForce[]> {
    const rows: { base: string; quote: string; rate: string; as_of: Date }[] = await manager.query(
      `SELECT DISTINCT ON (base, quote) base, quote, rate, as_of
         FROM "${AppSchema.Market}".fx_rates
        WHERE ((base = ANY($1) AND quote = 'USD') OR (base = 'USD' AND quote = ANY($1))) AND as_of <= $2
        ORDER BY base, quote, as_of DESC`,
      [currencies, now],
    );
    return rows.map((r) => ({ base: r.base.trim(), quote: r.quote.trim(), rate: r.rate, asOf: r.as_of }));
  }
}
