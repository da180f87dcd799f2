import { Module } from '@nestjs/common';
import { AppSchema } from '#persistence';
import { ServiceModule, type ServiceDefinition } from '#runtime';
import { gatewayEntities } from './entities.js';

export const gatewayService: ServiceDefinition = {
  app: 'gateway',
  schema: AppSchema.Gateway,
  entities: gatewayEntities,
  consumes: [],
};

@Module({
  imports: [ServiceModule.forApp(gatewayService)],
})
export class GatewayModule {}
