import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import type { EntityManager } from 'typeorm';
import { authenticateFeed, Topic, type FeedKey, type SpotPriceTick } from '#contracts';
import { KafkaHandler, type InboundBatch, type InboundMessage } from '#messaging';
import { AppSchema } from '#persistence';
import { Clock } from '../clock.js';
import { marketMetrics } from '../market.metrics.js';
import { offerKey, type OfferState } from '../quotes/market-inputs.js';
import { QuoteRefresher } from '../quotes/quote-refresher.js';
import { QuoteService } from '../quotes/quote.service.js';
import { TickPartitions } from './tick-partitions.js';

type TickMessage = InboundMessage<typeof Topic.SpotPrices>;

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
  ) {}

  @KafkaHandler(Topic.SpotPrices)
  async handle(@Payload() batch: InboundBatch<typeof Topic.SpotPrices>): Promise<void> {
    const { manager } = batch;
    const authentic = await this.authenticate(batch);
    if (authentic.length === 0) return;

    // Lock the offers this chunk touches, then apply each tick only if its seq is above the last.
    const lastSeq = await this.lockOffers(manager, authentic);
    const applied: SpotPriceTick[] = [];
    const rejected: Rejection[] = [];
    const latest = new Map<string, SpotPriceTick>();
    for (const { payload: tick } of authentic) {
      const key = offerKey(tick);
      const last = lastSeq.get(key);
      if (last !== undefined && tick.seq <= last) {
        rejected.push({ tick, lastSeq: last, reason: tick.seq === last ? 'duplicate-seq' : 'stale-seq' });
        continue;
      }
      lastSeq.set(key, tick.seq);
      applied.push(tick);
      latest.set(key, tick);
    }

    await this.partitions.ensureFor(manager, applied.map((t) => t.validFrom));
    await this.storeTicks(manager, applied);
    await this.recordRejections(manager, rejected);
    const offers = await this.upsertOffers(manager, [...latest.values()]);
    const now = this.clock.now();
    await this.quotes.refresh(manager, offers, now);
    // A tick that takes effect later is quoted when it does.
    const later = offers.map((o) => o.validFrom.getTime()).filter((t) => t > now.getTime());
    if (later.length > 0) this.refresher.wakeBy(Math.min(...later));
    marketMetrics.ticksApplied.inc(applied.length);
    for (const r of rejected) marketMetrics.ticksIgnored.inc({ reason: r.reason });
  }

  /** Unsigned, unknown or revoked keys, bad signatures and impersonation go to the DLQ. */
  private async authenticate(batch: InboundBatch<typeof Topic.SpotPrices>): Promise<TickMessage[]> {
    const keyIds = [...new Set(batch.messages.map((m) => m.headers['x-key-id']).filter((k): k is string => k !== undefined))];
    const keys = new Map<string, FeedKey>();
    if (keyIds.length > 0) {
      const rows: { key_id: string; provider_id: string; secret: string; revoked: boolean }[] = await batch.manager.query(
        `SELECT key_id, provider_id, secret, revoked_at IS NOT NULL AS revoked FROM "${AppSchema.Market}".feed_keys WHERE key_id = ANY($1)`,
        [keyIds],
      );
      for (const r of rows) keys.set(r.key_id, { keyId: r.key_id, providerId: r.provider_id, secret: r.secret, revoked: r.revoked });
    }
    const authentic: TickMessage[] = [];
    for (const m of batch.messages) {
      const failure = authenticateFeed(m.value, m.headers, m.payload.providerId, (id) => keys.get(id));
      if (failure === undefined) authentic.push(m);
      else batch.reject(m, 'unauthenticated', failure);
    }
    return authentic;
  }

  private async lockOffers(manager: EntityManager, messages: readonly TickMessage[]): Promise<Map<string, number>> {
    const pairs = new Map(messages.map((m) => [offerKey(m.payload), m.payload]));
    const rows: { provider_id: string; offer_id: string; last_seq: string }[] = await manager.query(
      `SELECT o.provider_id, o.offer_id, o.last_seq FROM "${AppSchema.Market}".offers o
         JOIN unnest($1::text[], $2::text[]) AS k(provider_id, offer_id) USING (provider_id, offer_id)
        ORDER BY o.provider_id, o.offer_id
        FOR UPDATE OF o`,
      [[...pairs.values()].map((p) => p.providerId), [...pairs.values()].map((p) => p.offerId)],
    );
    return new Map(rows.map((r) => [offerKey({ providerId: r.provider_id, offerId: r.offer_id }), Number(r.last_seq)]));
  }

  private async storeTicks(manager: EntityManager, ticks: readonly SpotPriceTick[]): Promise<void> {
    if (ticks.length === 0) return;
    await manager.query(
      `INSERT INTO "${AppSchema.Market}".spot_price_ticks
         (provider_id, offer_id, seq, instrument, region, grid_zone, price, currency,
          energy_kwh_per_unit, energy_included, capacity, valid_from, valid_until, attributes, published_at)
       SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::numeric[],
                            $8::char(3)[], $9::numeric[], $10::boolean[], $11::numeric[], $12::timestamptz[],
                            $13::timestamptz[], $14::jsonb[], $15::timestamptz[])`,
      [
        ticks.map((t) => t.providerId),
        ticks.map((t) => t.offerId),
        ticks.map((t) => t.seq),
        ticks.map((t) => t.instrument),
        ticks.map((t) => t.region),
        ticks.map((t) => t.gridZone),
        ticks.map((t) => t.price),
        ticks.map((t) => t.currency),
        ticks.map((t) => t.energyKwhPerUnit),
        ticks.map((t) => t.energyIncluded),
        ticks.map((t) => t.capacity),
        ticks.map((t) => t.validFrom),
        ticks.map((t) => t.validUntil),
        ticks.map((t) => JSON.stringify(t.attributes)),
        ticks.map((t) => t.publishedAt),
      ],
    );
  }

  private async recordRejections(manager: EntityManager, rejected: readonly Rejection[]): Promise<void> {
    if (rejected.length === 0) return;
    await manager.query(
      `INSERT INTO "${AppSchema.Market}".tick_rejections (provider_id, offer_id, seq, last_seq, reason)
       SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::text[])`,
      [
        rejected.map((r) => r.tick.providerId),
        rejected.map((r) => r.tick.offerId),
        rejected.map((r) => r.tick.seq),
        rejected.map((r) => r.lastSeq),
        rejected.map((r) => r.reason),
      ],
    );
  }

  private async upsertOffers(manager: EntityManager, ticks: readonly SpotPriceTick[]): Promise<OfferState[]> {
    if (ticks.length === 0) return [];
    await manager.query(
      `INSERT INTO "${AppSchema.Market}".offers
         (provider_id, offer_id, last_seq, instrument, region, grid_zone, price, currency,
          energy_kwh_per_unit, energy_included, capacity, valid_from, valid_until, attributes, updated_at)
       SELECT *, now() FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::numeric[],
                            $8::char(3)[], $9::numeric[], $10::boolean[], $11::numeric[], $12::timestamptz[],
                            $13::timestamptz[], $14::jsonb[])
       ON CONFLICT (provider_id, offer_id) DO UPDATE SET
         last_seq = excluded.last_seq, instrument = excluded.instrument, region = excluded.region,
         grid_zone = excluded.grid_zone, price = excluded.price, currency = excluded.currency,
         energy_kwh_per_unit = excluded.energy_kwh_per_unit, energy_included = excluded.energy_included,
         capacity = excluded.capacity, valid_from = excluded.valid_from, valid_until = excluded.valid_until,
         attributes = excluded.attributes, updated_at = now()`,
      [
        ticks.map((t) => t.providerId),
        ticks.map((t) => t.offerId),
        ticks.map((t) => t.seq),
        ticks.map((t) => t.instrument),
        ticks.map((t) => t.region),
        ticks.map((t) => t.gridZone),
        ticks.map((t) => t.price),
        ticks.map((t) => t.currency),
        ticks.map((t) => t.energyKwhPerUnit),
        ticks.map((t) => t.energyIncluded),
        ticks.map((t) => t.capacity),
        ticks.map((t) => t.validFrom),
        ticks.map((t) => t.validUntil),
        ticks.map((t) => JSON.stringify(t.attributes)),
      ],
    );
    return ticks.map((t) => ({
      providerId: t.providerId,
      offerId: t.offerId,
      lastSeq: t.seq,
      instrument: t.instrument,
      region: t.region,
      gridZone: t.gridZone,
      price: t.price,
      currency: t.currency,
      energyKwhPerUnit: t.energyKwhPerUnit,
      energyIncluded: t.energyIncluded,
      capacity: t.capacity,
      validFrom: new Date(t.validFrom),
      validUntil: new Date(t.validUntil),
    }));
  }
}
