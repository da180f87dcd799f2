import { Module } from '@nestjs/common';
import { AppSchema } from '#persistence';
import { ServiceModule, type ServiceDefinition } from '#runtime';
import { gatewayEntities } from './entities.js';
import { TickIngestController } from './feed/tick-ingest.controller.js';
import { MarketReadController } from './market/market-read.controller.js';
import { QuoteStreamController } from './market/quote-stream.controller.js';
import { QuoteStream } from './market/quote-stream.service.js';

export const gatewayService: ServiceDefinition = {
  app: 'gateway',
  schema: AppSchema.Gateway,
  entities: gatewayEntities,
  consumes: [],
};

@Module({
  imports: [ServiceModule.forApp(gatewayService)],
  controllers: [TickIngestController, MarketReadController, QuoteStreamController],
  providers: [QuoteStream],
})
export class GatewayModule {}
