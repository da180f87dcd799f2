import { Controller, Inject } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import type { EntityManager } from 'typeorm';
import { authenticateFeed, FeedSecrets, KEY_ID_HEADER, Topic, type FeedKey, type SpotPriceTick } from '#contracts';
import { KafkaHandler, type InboundBatch, type InboundMessage } from '#messaging';
import { AppSchema, boolArray, int8Array, textArray } from '#persistence';
import { CONFIG, type Config } from '#runtime';
import { Clock } from '../clock.js';
import { marketMetrics } from '../market.metrics.js';
import { offerKey, offerStateOf, type CurrentSlot } from '#market';
import { QuoteRefresher } from '../quotes/quote-refresher.js';
import { quoteColumns, QuoteService, quoteUpsert, slotsFromRows, slotsInForce, zonesOf, type SlotRow } from '../quotes/quote.service.js';
import { isMissingPartition, TickPartitions } from './tick-partitions.js';

type TickMessage = InboundMessage<typeof Topic.SpotPrices>;

/**
 * The ticks as one binary array per column, in the store statement's order. Decimals and instants
 * go as the very strings that were validated, and PostgreSQL reads them through casts, exactly.
 */
function tickColumns(messages: readonly TickMessage[]): Buffer[] {
  const ticks = messages.map((m) => m.payload);
  const text = (pick: (t: SpotPriceTick) => string): Buffer => textArray(ticks.map(pick));
  return [
    text((t) => t.providerId),
    text((t) => t.offerId),
    int8Array(ticks.map((t) => t.seq)),
    text((t) => t.instrument),
    text((t) => t.region),
    text((t) => t.gridZone),
    text((t) => t.price),
    text((t) => t.currency),
    text((t) => t.energyKwhPerUnit),
    boolArray(ticks.map((t) => t.energyIncluded)),
    text((t) => t.capacity),
    text((t) => t.validFrom),
    text((t) => t.validUntil),
    text((t) => JSON.stringify(t.attributes)),
    text((t) => t.publishedAt),
  ];
}

interface Rejection {
  readonly tick: SpotPriceTick;
  readonly lastSeq: number;
  readonly reason: 'stale-seq' | 'duplicate-seq';
}

/**
 * Provider ticks: authenticated, applied in sequence per offer, stored, and turned into quotes.
 * Everything happens in the transport's transaction, so ticks, offer state, rejections, quotes and
 * the outbox rows that publish them commit together, before the offset does.
 */
@Controller()
export class SpotPriceConsumer {
  constructor(
    private readonly quotes: QuoteService,
    private readonly partitions: TickPartitions,
    private readonly refresher: QuoteRefresher,
    private readonly clock: Clock,
    @Inject(CONFIG) config: Config,
  ) {
    this.secrets = new FeedSecrets(config.FEED_SECRETS_KEY);
  }

  private readonly secrets: FeedSecrets;

  @KafkaHandler(Topic.SpotPrices)
  async handle(@Payload() batch: InboundBatch<typeof Topic.SpotPrices>): Promise<void> {
    const { manager } = batch;
    const now = this.clock.now();
    // A chunk is four round trips in all: BEGIN, this read, one write, COMMIT (decision 0005,
    // stop 31). At moderate rates a chunk costs its number of statements, not their work.
    const { keys, lastSeq, slots } = await this.read(batch, now);
    const authentic = this.authenticate(batch, keys);
    if (authentic.length === 0) return;

    // Apply each tick only if its seq is above the offer's last (the read locked the offers).
    const applied: TickMessage[] = [];
    const rejected: Rejection[] = [];
    const latest = new Map<string, SpotPriceTick>();
    for (const message of authentic) {
      const tick = message.payload;
      const key = offerKey(tick);
      const last = lastSeq.get(key);
      if (last !== undefined && tick.seq <= last) {
        rejected.push({ tick, lastSeq: last, reason: tick.seq === last ? 'duplicate-seq' : 'stale-seq' });
        continue;
      }
      lastSeq.set(key, tick.seq);
      applied.push(message);
      latest.set(key, tick);
    }

    const offers = [...latest.values()].map(offerStateOf);
    const priced = this.quotes.price(offers, slots, await this.quotes.fxFor(manager, offers, slots, now), now);
    const instants = applied.map((m) => m.payload.validFrom);
    await this.partitions.ensureFor(manager, instants);
    let published: number;
    try {
      published = await this.write(manager, applied, rejected, priced.columns);
    } catch (error) {
      // A month remembered from a transaction that rolled back: retried (transient), it is asked for again.
      if (isMissingPartition(error) && this.partitions.forget(instants)) {
        throw Object.assign(new Error('a month of ticks had lost its partition (made in a transaction that rolled back); retrying', { cause: error }), { retriable: true });
      }
      throw error;
    }
    this.quotes.counted(published);
    if (priced.unpriced > 0) this.refresher.retrySoon();
    // A tick that takes effect later is quoted when it does.
    const later = offers.map((o) => o.validFrom).filter((t) => t > now.getTime());
    if (later.length > 0) this.refresher.wakeBy(Math.min(...later));
    marketMetrics.ticksApplied.inc(applied.length);
    for (const r of rejected) marketMetrics.ticksIgnored.inc({ reason: r.reason });
  }

  /**
   * One statement: the chunk's feed keys, its offers' last seqs (locked, in key order, until the
   * transaction ends) and the tariff slots in force in its zones. It reads for every message of
   * the chunk, authentic or not: locking an offer that a forged tick names only holds it for
   * this transaction, which applies nothing of the forgery.
   */
  private async read(batch: InboundBatch<typeof Topic.SpotPrices>, now: Date): Promise<{ keys: Map<string, FeedKey>; lastSeq: Map<string, number>; slots: Map<string, CurrentSlot> }> {
    const keyIds = new Set<string>();
    const seen = new Set<string>();
    const providerIds: string[] = [];
    const offerIds: string[] = [];
    for (const m of batch.messages) {
      const keyId = m.headers[KEY_ID_HEADER];
      if (keyId !== undefined) keyIds.add(keyId);
      const key = offerKey(m.payload);
      if (seen.has(key)) continue;
      seen.add(key);
      providerIds.push(m.payload.providerId);
      offerIds.push(m.payload.offerId);
    }
    const rows: { keys: { key_id: string; provider_id: string; revoked: boolean }[]; locked: { provider_id: string; offer_id: string; last_seq: string }[]; slots: SlotRow[] }[] =
      await batch.manager.query(
        `WITH locked AS (
           SELECT o.provider_id, o.offer_id, o.last_seq::text AS last_seq FROM "${AppSchema.Market}".offers o
             JOIN unnest($2::text[], $3::text[]) AS k(provider_id, offer_id) USING (provider_id, offer_id)
            ORDER BY o.provider_id, o.offer_id
            FOR UPDATE OF o
         )
         SELECT
           (SELECT coalesce(json_agg(k), '[]') FROM (
              SELECT key_id, provider_id, revoked_at <= now() IS TRUE AS revoked FROM "${AppSchema.Market}".feed_keys WHERE key_id = ANY($1)) k) AS keys,
           (SELECT coalesce(json_agg(locked), '[]') FROM locked) AS locked,
           (SELECT coalesce(json_agg(s), '[]') FROM (${slotsInForce('$4', '$5')}) s) AS slots`,
        // The offers as binary text arrays, read without parsing, as the write's ticks are. As a
        // JSON document, reading and locking 30 offers cost PostgreSQL 14–17 µs each, against 5–7
        // (decision 0005, stop 32).
        [[...keyIds], textArray(providerIds), textArray(offerIds), zonesOf(batch.messages.map((m) => m.payload)), now],
      );
    const { keys, locked, slots } = rows[0] as (typeof rows)[number];
    return {
      keys: new Map(keys.map((r) => [r.key_id, { keyId: r.key_id, providerId: r.provider_id, secret: this.secrets.of(r.key_id), revoked: r.revoked }])),
      lastSeq: new Map(locked.map((r) => [offerKey({ providerId: r.provider_id, offerId: r.offer_id }), Number(r.last_seq)])),
      slots: slotsFromRows(slots),
    };
  }

  /** Unsigned, unknown or revoked keys, bad signatures and impersonation go to the DLQ. */
  private authenticate(batch: InboundBatch<typeof Topic.SpotPrices>, keys: ReadonlyMap<string, FeedKey>): TickMessage[] {
    const authentic: TickMessage[] = [];
    for (const m of batch.messages) {
      const failure = authenticateFeed(m.value, m.headers, m.payload.providerId, (id) => keys.get(id));
      if (failure === undefined) authentic.push(m);
      else batch.reject(m, 'unauthenticated', failure);
    }
    return authentic;
  }

  /**
   * One round trip: the applied ticks, the rejections, the offers' new state, and the quotes that
   * changed with their outbox rows; returns how many quotes were queued. The ticks travel as one
   * binary array per column (`#persistence`'s pg-arrays), which PostgreSQL reads without parsing;
   * as one JSON document, unpacking them was most of the statement's time. The offers' state is
   * each offer's latest tick among the applied ones, taken from the same rows.
   */
  private async write(manager: EntityManager, applied: readonly TickMessage[], rejected: readonly Rejection[], quotes: Buffer[] | undefined): Promise<number> {
    if (applied.length === 0 && rejected.length === 0 && quotes === undefined) return 0;
    const rows: { n: number }[] = await manager.query(
      `WITH applied AS (
         SELECT "providerId", "offerId", seq, instrument, region, "gridZone", price::numeric AS price, currency,
                "energyKwhPerUnit"::numeric AS "energyKwhPerUnit", "energyIncluded", capacity::numeric AS capacity,
                "validFrom"::timestamptz AS "validFrom", "validUntil"::timestamptz AS "validUntil",
                attributes::jsonb AS attributes, "publishedAt"::timestamptz AS "publishedAt"
           FROM unnest($2::text[], $3::text[], $4::int8[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],
                       $10::text[], $11::bool[], $12::text[], $13::text[], $14::text[], $15::text[], $16::text[])
             AS t("providerId", "offerId", seq, instrument, region, "gridZone", price, currency,
                  "energyKwhPerUnit", "energyIncluded", capacity, "validFrom", "validUntil", attributes, "publishedAt")
       ), ticks AS (
         INSERT INTO "${AppSchema.Market}".spot_price_ticks
           (provider_id, offer_id, seq, instrument, region, grid_zone, price, currency,
            energy_kwh_per_unit, energy_included, capacity, valid_from, valid_until, attributes, published_at)
         SELECT "providerId", "offerId", seq, instrument, region, "gridZone", price, currency,
                "energyKwhPerUnit", "energyIncluded", capacity, "validFrom", "validUntil", attributes, "publishedAt"
           FROM applied
       ), rejections AS (
         INSERT INTO "${AppSchema.Market}".tick_rejections (provider_id, offer_id, seq, last_seq, reason)
         SELECT * FROM json_to_recordset($1::json) AS r(provider_id text, offer_id text, seq bigint, last_seq bigint, reason text)
       ), offers AS (
         INSERT INTO "${AppSchema.Market}".offers
           (provider_id, offer_id, last_seq, instrument, region, grid_zone, price, currency,
            energy_kwh_per_unit, energy_included, capacity, valid_from, valid_until, attributes, updated_at)
         SELECT DISTINCT ON ("providerId", "offerId")
                "providerId", "offerId", seq, instrument, region, "gridZone", price, currency,
                "energyKwhPerUnit", "energyIncluded", capacity, "validFrom", "validUntil", attributes, now()
           FROM applied
          ORDER BY "providerId", "offerId", seq DESC
         ON CONFLICT (provider_id, offer_id) DO UPDATE SET
           last_seq = excluded.last_seq, instrument = excluded.instrument, region = excluded.region,
           grid_zone = excluded.grid_zone, price = excluded.price, currency = excluded.currency,
           energy_kwh_per_unit = excluded.energy_kwh_per_unit, energy_included = excluded.energy_included,
           capacity = excluded.capacity, valid_from = excluded.valid_from, valid_until = excluded.valid_until,
           attributes = excluded.attributes, updated_at = now()
       ), ${quoteUpsert(17)}
       SELECT count(*)::int AS n FROM queued`,
      [
        JSON.stringify(rejected.map((r) => ({ provider_id: r.tick.providerId, offer_id: r.tick.offerId, seq: r.tick.seq, last_seq: r.lastSeq, reason: r.reason }))),
        ...tickColumns(applied),
        ...(quotes ?? quoteColumns([], [])),
        Topic.Quotes,
      ],
    );
    return rows[0]?.n ?? 0;
  }
}
