import { BullModule } from '@nestjs/bullmq';
import { Module } from '@nestjs/common';
import { Topic, QueueName } from '#contracts';
import { AppSchema } from '#persistence';
import { bullConnectionOf, CONFIG, ServiceModule, type Config, type ServiceDefinition } from '#runtime';
import { BookStore } from './book/book.store.js';
import { MatchingEngine } from './book/matching.engine.js';
import { Clock } from './clock.js';
import { matchingEngineEntities } from './entities.js';
import { MatchingProcessor } from './jobs/matching.processor.js';
import { QuoteConsumer } from './quotes/quote.consumer.js';

export const matchingEngineService: ServiceDefinition = {
  app: 'matching-engine',
  schema: AppSchema.Matching,
  entities: matchingEngineEntities,
  consumes: [Topic.Quotes],
};

@Module({
  imports: [
    ServiceModule.forApp(matchingEngineService),
    BullModule.forRootAsync({ useFactory: (config: Config) => ({ connection: bullConnectionOf(config), prefix: config.QUEUE_PREFIX }), inject: [CONFIG] }),
    BullModule.registerQueue({ name: QueueName.Matching }),
  ],
  controllers: [QuoteConsumer],
  providers: [Clock, BookStore, MatchingEngine, MatchingProcessor],
})
export class MatchingEngineModule {}
