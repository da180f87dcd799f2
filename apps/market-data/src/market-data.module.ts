import { Module } from '@nestjs/common';
import { Topic } from '#contracts';
import { AppSchema } from '#persistence';
import { ServiceModule, type ServiceDefinition } from '#runtime';
import { marketDataEntities } from './entities.js';
import { SpotPriceConsumer } from './spot-prices/spot-price.consumer.js';

export const marketDataService: ServiceDefinition = {
  app: 'market-data',
  schema: AppSchema.Market,
  entities: marketDataEntities,
  consumes: [Topic.SpotPrices],
};

@Module({
  imports: [ServiceModule.forApp(marketDataService)],
  controllers: [SpotPriceConsumer],
})
export class MarketDataModule {}
