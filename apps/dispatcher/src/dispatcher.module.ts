import { Module } from '@nestjs/common';
import { AppSchema } from '#persistence';
import { ServiceModule, type ServiceDefinition } from '#runtime';
import { dispatcherEntities } from './entities.js';

export const dispatcherService: ServiceDefinition = {
  app: 'dispatcher',
  schema: AppSchema.Dispatch,
  entities: dispatcherEntities,
  consumes: [],
};

@Module({
  imports: [ServiceModule.forApp(dispatcherService)],
})
export class DispatcherModule {}
