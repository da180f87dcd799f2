import { BullModule } from '@nestjs/bullmq';
import { Module } from '@nestjs/common';
import { QueueName, Topic } from '#contracts';
import { AppSchema } from '#persistence';
import { bullConnectionOf, CONFIG, ServiceModule, type Config, type ServiceDefinition } from '#runtime';
import { AllocationConsumer } from './dispatch/allocation.consumer.js';
import { AllocationRunner } from './dispatch/allocation.runner.js';
import { DispatchQueues } from './dispatch/dispatch.queues.js';
import { DispatchStore } from './dispatch/dispatch.store.js';
import { JobLifecycle } from './dispatch/job-lifecycle.js';
import { JobStepsConsumer } from './dispatch/job-steps.consumer.js';
import { dispatcherEntities } from './entities.js';
import { ProviderRegistry } from './providers/provider-registry.js';

export const dispatcherService: ServiceDefinition = {
  app: 'dispatcher',
  schema: AppSchema.Dispatch,
  entities: dispatcherEntities,
  consumes: [Topic.Allocations, Topic.JobEvents],
  // Allocations and job events are on no latency budget here: lingering, a job's come as one batch (decision 0003).
  lingerMs: 20,
};

@Module({
  imports: [
    ServiceModule.forApp(dispatcherService),
    BullModule.forRootAsync({ useFactory: (config: Config) => ({ connection: bullConnectionOf(config), prefix: config.QUEUE_PREFIX }), inject: [CONFIG] }),
    // The dispatcher puts unfinished work back on the matching queue.
    BullModule.registerQueue({ name: QueueName.Matching }),
  ],
  controllers: [AllocationConsumer, JobStepsConsumer],
  providers: [ProviderRegistry, DispatchStore, JobLifecycle, AllocationRunner, DispatchQueues],
})
export class DispatcherModule {}
