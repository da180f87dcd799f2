import { Module } from '@nestjs/common';
import { Topic } from '#contracts';
import { AppSchema } from '#persistence';
import { ServiceModule, type ServiceDefinition } from '#runtime';
import { billingEntities } from './entities.js';
import { FundsController } from './funds/funds.controller.js';
import { FundsService } from './funds/funds.service.js';
import { InvoiceController } from './invoices/invoice.controller.js';
import { InvoiceService } from './invoices/invoice.service.js';
import { AllocationConsumer } from './usage/allocation.consumer.js';
import { HoldReleaseConsumer } from './usage/hold-release.consumer.js';
import { UsageConsumer } from './usage/usage.consumer.js';

export const billingService: ServiceDefinition = {
  app: 'billing',
  schema: AppSchema.Billing,
  entities: billingEntities,
  consumes: [Topic.Allocations, Topic.UsageMetered, Topic.JobEvents],
  // Allocations, usage and job events are on no latency budget here (the ledger's is throughput,
  // and a fetch of 16 or more does not linger): lingering, a job's come as one batch (decision 0003).
  lingerMs: 20,
};

@Module({
  imports: [ServiceModule.forApp(billingService)],
  controllers: [AllocationConsumer, UsageConsumer, HoldReleaseConsumer, FundsController, InvoiceController],
  providers: [FundsService, InvoiceService],
})
export class BillingModule {}
