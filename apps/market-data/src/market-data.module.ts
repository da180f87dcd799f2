import { Module } from '@nestjs/common';
import { Topic } from '#contracts';
import { AppSchema } from '#persistence';
import { ServiceModule, type ServiceDefinition } from '#runtime';
import { Clock } from './clock.js';
import { marketDataEntities } from './entities.js';
import { FxConsumer } from './fx/fx.consumer.js';
import { QuoteRefresher } from './quotes/quote-refresher.js';
import { QuoteService } from './quotes/quote.service.js';
import { SpotPriceConsumer } from './spot-prices/spot-price.consumer.js';
import { TickPartitions } from './spot-prices/tick-partitions.js';
import { TariffConsumer } from './tariffs/tariff.consumer.js';

export const marketDataService: ServiceDefinition = {
  app: 'market-data',
  schema: AppSchema.Market,
  entities: marketDataEntities,
  consumes: [Topic.SpotPrices, Topic.EnergyTariffs, Topic.FxRates],
};

@Module({
  imports: [ServiceModule.forApp(marketDataService)],
  controllers: [SpotPriceConsumer, TariffConsumer, FxConsumer],
  providers: [Clock, QuoteService, QuoteRefresher, TickPartitions],
})
export class MarketDataModule {}
