import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { Topic } from '#contracts';
import { KafkaHandler, type InboundBatch } from '#messaging';
import { AppSchema } from '#persistence';
import { Clock } from '../clock.js';
import { QuoteRefresher } from '../quotes/quote-refresher.js';
import { QuoteService } from '../quotes/quote.service.js';

/**
 * FX rates: kept as history (a rate is identified by its pair and as-of instant, so a redelivery
 * is a no-op). Every offer in force is re-quoted: unchanged quotes are not republished.
 */
@Controller()
export class FxConsumer {
  constructor(
    private readonly quotes: QuoteService,
    private readonly refresher: QuoteRefresher,
    private readonly clock: Clock,
  ) {}

  @KafkaHandler(Topic.FxRates)
  async handle(@Payload() batch: InboundBatch<typeof Topic.FxRates>): Promise<void> {
    const { manager } = batch;
    const rates = batch.messages.map((m) => m.payload);
    await manager.query(
      `INSERT INTO "${AppSchema.Market}".fx_rates (base, quote, as_of, rate)
       SELECT * FROM unnest($1::char(3)[], $2::char(3)[], $3::timestamptz[], $4::numeric[])
       ON CONFLICT (base, quote, as_of) DO NOTHING`,
      [rates.map((r) => r.base), rates.map((r) => r.quote), rates.map((r) => r.asOf), rates.map((r) => r.rate)],
    );
    const now = this.clock.now();
    await this.quotes.refresh(manager, await this.quotes.offersInForce(manager, now), now);
    // Ticks waiting for this rate may be committing alongside: sweep once this has committed.
    this.refresher.retrySoon();
  }
}
