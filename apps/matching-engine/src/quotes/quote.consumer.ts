import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { Topic } from '#contracts';
import { KafkaHandler, type InboundBatch } from '#messaging';
import { MatchingEngine } from '../book/matching.engine.js';

/**
 * Effective quotes into the book. The engine writes the quotes' effects in its own transaction
 * (grouped with jobs arriving at the same time) before this returns; the offset is committed
 * after. Applying a quote is idempotent (a quote not newer than the offer's last is ignored), so
 * a redelivery after a crash between the two commits changes nothing.
 */
@Controller()
export class QuoteConsumer {
  constructor(private readonly engine: MatchingEngine) {}

  @KafkaHandler(Topic.Quotes)
  async handle(@Payload() batch: InboundBatch<typeof Topic.Quotes>): Promise<void> {
    await this.engine.applyQuotes(batch.messages.map((m) => m.payload));
  }
}
