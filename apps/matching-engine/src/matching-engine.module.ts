import { Module } from '@nestjs/common';
import { AppSchema } from '#persistence';
import { ServiceModule, type ServiceDefinition } from '#runtime';
import { matchingEngineEntities } from './entities.js';

export const matchingEngineService: ServiceDefinition = {
  app: 'matching-engine',
  schema: AppSchema.Matching,
  entities: matchingEngineEntities,
  consumes: [],
};

@Module({
  imports: [ServiceModule.forApp(matchingEngineService)],
})
export class MatchingEngineModule {}
