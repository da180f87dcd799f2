import { BullModule } from '@nestjs/bullmq';
import { Module } from '@nestjs/common';
import { QueueName, Topic } from '#contracts';
import { AppSchema } from '#persistence';
import { bullConnectionOf, CONFIG, ServiceModule, type Config, type ServiceDefinition } from '#runtime';
import { gatewayEntities } from './entities.js';
import { TickIngestController } from './feed/tick-ingest.controller.js';
import { FinanceController } from './finance/finance.controller.js';
import { InvoicesController } from './finance/invoices.controller.js';
import { FUNDS_CHECK, LedgerFunds } from './jobs/funds.js';
import { JobEventsConsumer } from './jobs/job-events.consumer.js';
import { JobIntake } from './jobs/job-intake.service.js';
import { JobSweeper } from './jobs/job-sweeper.js';
import { JobWriter } from './jobs/job-writer.js';
import { JobsController } from './jobs/jobs.controller.js';
import { MarketSnapshot } from './jobs/market-snapshot.js';
import { PreTradeController } from './jobs/pre-trade.controller.js';
import { MarketReadController } from './market/market-read.controller.js';
import { QuoteStreamController } from './market/quote-stream.controller.js';
import { QuoteStream } from './market/quote-stream.service.js';

export const gatewayService: ServiceDefinition = {
  app: 'gateway',
  schema: AppSchema.Gateway,
  entities: gatewayEntities,
  consumes: [Topic.JobEvents],
};

@Module({
  imports: [
    ServiceModule.forApp(gatewayService),
    BullModule.forRootAsync({ useFactory: (config: Config) => ({ connection: bullConnectionOf(config), prefix: config.QUEUE_PREFIX }), inject: [CONFIG] }),
    BullModule.registerQueue({ name: QueueName.Matching }),
  ],
  controllers: [TickIngestController, MarketReadController, QuoteStreamController, JobsController, PreTradeController, JobEventsConsumer, FinanceController, InvoicesController],
  providers: [QuoteStream, MarketSnapshot, JobWriter, JobIntake, JobSweeper, { provide: FUNDS_CHECK, useClass: LedgerFunds }],
})
export class GatewayModule {}
