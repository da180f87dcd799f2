import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { Topic } from '#contracts';
import { KafkaHandler, type InboundBatch } from '#messaging';
import { AppSchema } from '#persistence';
import { Clock } from '../clock.js';
import { marketMetrics } from '../market.metrics.js';
import { QuoteRefresher } from '../quotes/quote-refresher.js';
import { QuoteService } from '../quotes/quote.service.js';

/**
 * Energy tariffs per zone. A publication applies only if its seq is above the zone's last for
 * that kind; its slots replace earlier ones with the same start. Quotes of offers in the zone are
 * recomputed at once (slot boundaries later are the refresher's job).
 */
@Controller()
export class TariffConsumer {
  constructor(
    private readonly quotes: QuoteService,
    private readonly refresher: QuoteRefresher,
    private readonly clock: Clock,
  ) {}

  @KafkaHandler(Topic.EnergyTariffs)
  async handle(@Payload() batch: InboundBatch<typeof Topic.EnergyTariffs>): Promise<void> {
    const { manager } = batch;
    const zones = new Set<string>();
    for (const { payload: t } of batch.messages) {
      const rows: { last_seq: string }[] = await manager.query(
        `SELECT last_seq FROM "${AppSchema.Market}".tariff_feeds WHERE zone = $1 AND kind = $2 FOR UPDATE`,
        [t.zone, t.kind],
      );
      const last = rows[0] === undefined ? undefined : Number(rows[0].last_seq);
      if (last !== undefined && t.seq <= last) {
        marketMetrics.ticksIgnored.inc({ reason: t.seq === last ? 'duplicate-tariff-seq' : 'stale-tariff-seq' });
        continue;
      }
      await manager.query(
        `INSERT INTO "${AppSchema.Market}".tariff_feeds (zone, kind, last_seq, currency, unit, updated_at)
         VALUES ($1, $2, $3, $4, $5, now())
         ON CONFLICT (zone, kind) DO UPDATE SET last_seq = excluded.last_seq, currency = excluded.currency,
           unit = excluded.unit, updated_at = now()`,
        [t.zone, t.kind, t.seq, t.currency, t.unit],
      );
      await manager.query(
        `INSERT INTO "${AppSchema.Market}".tariff_slots (zone, kind, slot_start, slot_end, price, currency, unit, seq)
         SELECT $1, $2, s, e, p, $3, $4, $5 FROM unnest($6::timestamptz[], $7::timestamptz[], $8::numeric[]) AS x(s, e, p)
         ON CONFLICT (zone, kind, slot_start) DO UPDATE SET slot_end = excluded.slot_end, price = excluded.price,
           currency = excluded.currency, unit = excluded.unit, seq = excluded.seq`,
        [t.zone, t.kind, t.currency, t.unit, t.seq, t.slots.map((s) => s.start), t.slots.map((s) => s.end), t.slots.map((s) => s.price)],
      );
      zones.add(t.zone);
      const now = this.clock.now().getTime();
      const boundaries = t.slots.flatMap((slot) => [Date.parse(slot.start), Date.parse(slot.end)]).filter((b) => b > now);
      if (boundaries.length > 0) this.refresher.wakeBy(Math.min(...boundaries));
    }
    if (zones.size === 0) return;
    const now = this.clock.now();
    // A sweep after commit also catches ticks of this zone committing alongside this chunk.
    await this.quotes.refresh(manager, await this.quotes.offersInForce(manager, now, [...zones]), now);
    this.refresher.retrySoon();
  }
}
