import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import type { EntityManager } from 'typeorm';
import { Topic, type OfferAttributes, type Quote } from '#contracts';
import { encodeMessage, type OutboundMessage } from '#messaging';
import { AppSchema, byteaArray, int8Array, textArray } from '#persistence';
import { LOGGER } from '#runtime';
import { marketMetrics } from '../market.metrics.js';
import { fxCurrencyOf } from '#pricing';
import { computeQuotes, type CurrentSlot, type OfferState } from '#market';
import type { FxInForce } from '#pricing';

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
  attributes: OfferAttributes;
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Grid zones whose tariff prices these offers (those that do not include their energy). */
export function zonesOf(offers: readonly { gridZone: string; energyIncluded: boolean }[]): string[] {
  const zones = new Set<string>();
  for (const o of offers) if (!o.energyIncluded) zones.add(o.gridZone);
  return [...zones];
}

/**
 * The slot in force per zone among `zones` (an array parameter) at `now` (a timestamptz one):
 * real-time beats day-ahead beats retail where several exist. Numbers come back as text, so the
 * rows read the same whether pg decodes them or they travel inside a JSON aggregate.
 */
export function slotsInForce(zones: string, now: string): string {
  return `SELECT DISTINCT ON (zone) zone, kind, price::text AS price, currency, unit, seq::text AS seq, slot_end
            FROM "${AppSchema.Market}".tariff_slots
           WHERE zone = ANY(${zones}) AND slot_start <= ${now} AND slot_end > ${now}
           ORDER BY zone, CASE kind WHEN 'real-time' THEN 0 WHEN 'day-ahead' THEN 1 ELSE 2 END, slot_start DESC`;
}

export interface SlotRow {
  zone: string;
  kind: string;
  price: string;
  currency: string;
  unit: 'kWh' | 'MWh';
  seq: string;
  /** A Date from pg, an ISO string from a JSON aggregate. */
  slot_end: Date | string;
}

export function slotsFromRows(rows: readonly SlotRow[]): Map<string, CurrentSlot> {
  return new Map(rows.map((r) => [r.zone, { zone: r.zone, kind: r.kind, price: r.price, currency: r.currency, unit: r.unit, seq: Number(r.seq), end: new Date(r.slot_end) }]));
}

/**
 * The common table expressions that upsert quotes and queue exactly the changed ones in the
 * outbox: `quote_input` (the columns of `quoteColumns`, as parameters from `$first` on, and the
 * topic after them), `changed` and `queued` (one row per message queued). A changed price,
 * capacity, validity or source tick is a change; a new as-of alone is not. Callers put them in
 * their own statement (the spot-price consumer, after its own writes: one round trip a chunk).
 */
export function quoteUpsert(first: number): string {
  const p = (i: number): string => `$${first + i}`;
  return `quote_input AS (
         SELECT provider_id, offer_id, instrument, region, grid_zone, compute_nano_usd::bigint AS compute_nano_usd,
                energy_nano_usd::bigint AS energy_nano_usd, effective_nano_usd::bigint AS effective_nano_usd, capacity::numeric AS capacity,
                valid_until::timestamptz AS valid_until, priced_until::timestamptz AS priced_until, attributes::jsonb AS attributes,
                as_of::timestamptz AS as_of, tick_seq, tariff_seq, fx_as_of::timestamptz AS fx_as_of, key, value, headers::jsonb AS headers
           FROM unnest(${p(0)}::text[], ${p(1)}::text[], ${p(2)}::text[], ${p(3)}::text[], ${p(4)}::text[], ${p(5)}::text[], ${p(6)}::text[],
                       ${p(7)}::text[], ${p(8)}::text[], ${p(9)}::text[], ${p(10)}::text[], ${p(11)}::text[], ${p(12)}::text[], ${p(13)}::int8[],
                       ${p(14)}::int8[], ${p(15)}::text[], ${p(16)}::text[], ${p(17)}::bytea[], ${p(18)}::text[])
             AS x(provider_id, offer_id, instrument, region, grid_zone, compute_nano_usd, energy_nano_usd, effective_nano_usd, capacity,
                  valid_until, priced_until, attributes, as_of, tick_seq, tariff_seq, fx_as_of, key, value, headers)
       ), changed AS (
         INSERT INTO "${AppSchema.Market}".quotes AS q
           (provider_id, offer_id, instrument, region, grid_zone, compute_nano_usd, energy_nano_usd, effective_nano_usd,
            capacity, valid_until, priced_until, attributes, as_of, tick_seq, tariff_seq, fx_as_of)
         SELECT provider_id, offer_id, instrument, region, grid_zone, compute_nano_usd, energy_nano_usd, effective_nano_usd,
                capacity, valid_until, priced_until, attributes, as_of, tick_seq, tariff_seq, fx_as_of FROM quote_input
         ON CONFLICT (provider_id, offer_id) DO UPDATE SET
           instrument = excluded.instrument, region = excluded.region, grid_zone = excluded.grid_zone,
           compute_nano_usd = excluded.compute_nano_usd, energy_nano_usd = excluded.energy_nano_usd,
           effective_nano_usd = excluded.effective_nano_usd, capacity = excluded.capacity, valid_until = excluded.valid_until,
           priced_until = excluded.priced_until, attributes = excluded.attributes,
           as_of = excluded.as_of, tick_seq = excluded.tick_seq, tariff_seq = excluded.tariff_seq, fx_as_of = excluded.fx_as_of
         WHERE (q.compute_nano_usd, q.energy_nano_usd, q.effective_nano_usd, q.capacity, q.valid_until, q.priced_until, q.tick_seq)
               IS DISTINCT FROM
               (excluded.compute_nano_usd, excluded.energy_nano_usd, excluded.effective_nano_usd, excluded.capacity, excluded.valid_until,
                excluded.priced_until, excluded.tick_seq)
         RETURNING provider_id, offer_id
       ), queued AS (
         INSERT INTO "${AppSchema.Market}".outbox (topic, key, value, headers)
         SELECT ${p(19)}, i.key, i.value, i.headers FROM quote_input i JOIN changed USING (provider_id, offer_id)
         ORDER BY i.provider_id, i.offer_id
         RETURNING 1
       )`;
}

/**
 * Quotes and their outbox messages as the columns of `quoteUpsert`: one binary array each
 * (`#persistence`'s pg-arrays), which PostgreSQL reads without parsing. As a JSON document of
 * rows, unpacking them was about as costly as the upsert itself (decision 0005, stop 31). The
 * message goes in as its own bytes, so the outbox holds exactly what the encoder wrote.
 */
export function quoteColumns(quotes: readonly Quote[], messages: readonly OutboundMessage[]): Buffer[] {
  const text = (pick: (q: Quote) => string | null): Buffer => textArray(quotes.map(pick));
  return [
    text((q) => q.providerId),
    text((q) => q.offerId),
    text((q) => q.instrument),
    text((q) => q.region),
    text((q) => q.gridZone),
    text((q) => q.computeNanoUsd),
    text((q) => q.energyNanoUsd),
    text((q) => q.effectiveNanoUsd),
    text((q) => q.capacity),
    text((q) => q.validUntil),
    text((q) => q.pricedUntil),
    text((q) => JSON.stringify(q.attributes)),
    text((q) => q.asOf),
    int8Array(quotes.map((q) => q.sources.tickSeq)),
    int8Array(quotes.map((q) => q.sources.tariffSeq)),
    text((q) => q.sources.fxAsOf),
    textArray(messages.map((m) => m.key)),
    byteaArray(messages.map((m) => m.value)),
    textArray(messages.map((m) => JSON.stringify(m.headers))),
  ];
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
    validFrom: r.valid_from.getTime(),
    validUntil: r.valid_until.getTime(),
    attributes: r.attributes,
  };
}

const OFFER_COLUMNS = `provider_id, offer_id, last_seq, instrument, region, grid_zone, price, currency,
  energy_kwh_per_unit, energy_included, capacity, valid_from, valid_until, attributes`;

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

  /**
   * Recomputes the quotes of `offers` at `now`; returns how many changed (and were published) and
   * how many could not be priced (their tariff or FX rate is missing, or not committed yet).
   */
  async refresh(manager: EntityManager, offers: readonly OfferState[], now: Date): Promise<{ published: number; unpriced: number }> {
    if (offers.length === 0) return { published: 0, unpriced: 0 };
    const slots = await this.currentSlots(manager, zonesOf(offers), now);
    const priced = this.price(offers, slots, await this.fxFor(manager, offers, slots, now), now);
    if (priced.columns === undefined) return { published: 0, unpriced: priced.unpriced };
    const rows: { n: number }[] = await manager.query(`WITH ${quoteUpsert(1)} SELECT count(*)::int AS n FROM queued`, [...priced.columns, Topic.Quotes]);
    return { published: this.counted(rows[0]?.n ?? 0), unpriced: priced.unpriced };
  }

  /**
   * The quotes of `offers` at `now`, as the columns of `quoteUpsert` (undefined when none could
   * be priced), and how many offers could not be priced.
   */
  price(offers: readonly OfferState[], slots: ReadonlyMap<string, CurrentSlot>, fx: readonly FxInForce[], now: Date): { columns: Buffer[] | undefined; unpriced: number } {
    const quotes: Quote[] = [];
    let unpriced = 0;
    for (const o of computeQuotes(offers, slots, fx, now)) {
      if (o.ok) quotes.push(o.quote);
      else if (o.missing !== 'not-in-force') {
        unpriced += 1;
        marketMetrics.unpriceable.inc({ missing: o.missing });
        this.logger.debug({ providerId: o.offer.providerId, offerId: o.offer.offerId, missing: o.missing }, 'offer cannot be priced yet');
      }
    }
    if (quotes.length === 0) return { columns: undefined, unpriced };
    // The upsert locks the quote rows in input order. A sweep (QuoteRefresher) takes them in key
    // order while the partitions' consumers refresh theirs: in tick order, the two deadlocked
    // (seen in bench:ingest, one retried chunk each time). In key order, they queue.
    quotes.sort((a, b) => cmp(a.providerId, b.providerId) || cmp(a.offerId, b.offerId));
    return { columns: quoteColumns(quotes, quotes.map((q) => encodeMessage(Topic.Quotes, q))), unpriced };
  }

  /** Counts quotes published (the `queued` rows of a `quoteUpsert`). */
  counted(published: number): number {
    marketMetrics.quotesPublished.inc(published);
    return published;
  }

  /** The FX rates that pricing these offers against these slots needs (no read when all is in USD). */
  async fxFor(manager: EntityManager, offers: readonly OfferState[], slots: ReadonlyMap<string, CurrentSlot>, now: Date): Promise<FxInForce[]> {
    const currencies = new Set<string>();
    for (const o of offers) {
      const c = fxCurrencyOf(o.currency);
      if (c !== undefined) currencies.add(c);
    }
    for (const s of slots.values()) {
      const c = fxCurrencyOf(s.currency);
      if (c !== undefined) currencies.add(c);
    }
    return currencies.size === 0 ? [] : this.fxInForce(manager, [...currencies], now);
  }

  /** The slot in force per zone; real-time beats day-ahead beats retail where several exist. */
  private async currentSlots(manager: EntityManager, zones: readonly string[], now: Date): Promise<Map<string, CurrentSlot>> {
    if (zones.length === 0) return new Map();
    return slotsFromRows(await manager.query(slotsInForce('$1', '$2'), [zones, now]));
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
