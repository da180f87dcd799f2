import { BullModule } from '@nestjs/bullmq';
import { Module } from '@nestjs/common';
import { QueueName, Topic } from '#contracts';
import { AppSchema } from '#persistence';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { bullConnectionOf, CONFIG, PRINCIPALS, RATE_LIMITER, ServiceModule, type Config, type ServiceDefinition } from '#runtime';
import { gatewayEntities } from './entities.js';
import { AccessService } from './access/access.service.js';
import { AuditInterceptor } from './access/audit.interceptor.js';
import { RedisRateLimiter } from './access/rate-limiter.js';
import { BillingClient } from './billing/billing.client.js';
import { DashboardController } from './dashboard/dashboard.controller.js';
import { DocsController } from './docs/docs.controller.js';
import { GATEWAY_CONTROLLERS } from './gateway.routes.js';
import { FUNDS_CHECK, LedgerFunds } from './jobs/funds.js';
import { JobIntake } from './jobs/job-intake.service.js';
import { JobSweeper } from './jobs/job-sweeper.js';
import { JobWriter } from './jobs/job-writer.js';
import { MarketSnapshot } from './jobs/market-snapshot.js';
import { JobStream } from './live/job-stream.service.js';
import { QuoteStream } from './market/quote-stream.service.js';

export const gatewayService: ServiceDefinition = {
  app: 'gateway',
  schema: AppSchema.Gateway,
  entities: gatewayEntities,
  consumes: [Topic.JobEvents],
  // Job events are on no latency budget here: lingering, a job's come as one batch (decision 0003).
  lingerMs: 20,
};

@Module({
  imports: [
    ServiceModule.forApp(gatewayService),
    BullModule.forRootAsync({ useFactory: (config: Config) => ({ connection: bullConnectionOf(config), prefix: config.QUEUE_PREFIX }), inject: [CONFIG] }),
    BullModule.registerQueue({ name: QueueName.Matching }),
  ],
  controllers: [...GATEWAY_CONTROLLERS, DocsController, DashboardController],
  providers: [
    QuoteStream,
    JobStream,
    MarketSnapshot,
    JobWriter,
    JobIntake,
    JobSweeper,
    BillingClient,
    { provide: FUNDS_CHECK, useClass: LedgerFunds },
    AccessService,
    { provide: PRINCIPALS, useExisting: AccessService },
    { provide: RATE_LIMITER, useClass: RedisRateLimiter },
    { provide: APP_INTERCEPTOR, useClass: AuditInterceptor },
  ],
})
export class GatewayModule {}
