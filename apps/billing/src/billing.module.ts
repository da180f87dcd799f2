import { Module } from '@nestjs/common';
import { AppSchema } from '#persistence';
import { ServiceModule, type ServiceDefinition } from '#runtime';
import { billingEntities } from './entities.js';

export const billingService: ServiceDefinition = {
  app: 'billing',
  schema: AppSchema.Billing,
  entities: billingEntities,
  consumes: [],
};

@Module({
  imports: [ServiceModule.forApp(billingService)],
})
export class BillingModule {}
