import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { Topic } from '#contracts';
import { KafkaHandler, type InboundBatch } from '#messaging';
import { AppSchema } from '#persistence';

/**
 * Stores provider ticks. Runs inside the transport's transaction: the rows, the dedupe records and
 * any DLQ rows commit together, and the offset is committed after that.
 */
@Controller()
export class SpotPriceConsumer {
  @KafkaHandler(Topic.SpotPrices)
  async handle(@Payload() batch: InboundBatch<typeof Topic.SpotPrices>): Promise<void> {
    const ticks = batch.messages.map((m) => m.payload);
    // One statement per chunk. The conflict target is the tick's identity only: the inbox already
    // drops redeliveries, and any other constraint violation must fail loudly, not vanish.
    await batch.manager.query(
      `INSERT INTO "${AppSchema.Market}".spot_price_ticks
         (provider_id, offer_id, seq, instrument, region, grid_zone, price, currency,
          energy_kwh_per_unit, energy_included, capacity, valid_from, valid_until, attributes, published_at)
       SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::numeric[],
                            $8::char(3)[], $9::numeric[], $10::boolean[], $11::numeric[], $12::timestamptz[],
                            $13::timestamptz[], $14::jsonb[], $15::timestamptz[])
       ON CONFLICT (provider_id, offer_id, seq) DO NOTHING`,
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
}
