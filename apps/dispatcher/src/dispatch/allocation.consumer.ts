import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { Topic } from '#contracts';
import { KafkaHandler, type InboundBatch } from '#messaging';
import { dispatchEvent, DispatchStore, isEnded, type AllocationRow } from './dispatch.store.js';
import { DispatchQueues } from './dispatch.queues.js';
import { JobLifecycle } from './job-lifecycle.js';

/**
 * Takes allocations off `market.allocations.v1`: records each with its share of the job's work
 * and a `dispatched` event, in the batch's transaction, and puts it on its provider's queue
 * before the offset moves. The queue's job id is the allocation's, so a redelivered allocation is
 * queued once; one that arrives again after a crash is queued again if it has not ended.
 */
@Controller()
export class AllocationConsumer {
  constructor(
    private readonly store: DispatchStore,
    private readonly queues: DispatchQueues,
    private readonly lifecycle: JobLifecycle,
  ) {}

  @KafkaHandler(Topic.Allocations)
  async handle(@Payload() batch: InboundBatch<typeof Topic.Allocations>): Promise<void> {
    const m = batch.manager;
    const toRun: AllocationRow[] = [];
    const now = new Date();
    // In order: a job's allocations share its work in the order matching made them.
    for (const message of batch.messages) {
      const a = message.payload;
      const job = await this.store.lockJob(m, a.jobId, true);
      if (job === undefined) {
        batch.reject(message, 'rejected', `job ${a.jobId} is not on record, so there is no work to run for ${a.allocationId}`);
        continue;
      }
      const dispatched = dispatchEvent(job, `${a.allocationId}:dispatched`, 'dispatched', 'dispatched', `on ${a.providerId} (${a.region})`, [a.allocationId], now);
      const { row, created } = await this.store.addAllocation(m, job, a, [dispatched]);
      if (created) await this.lifecycle.settle(m, job, now);
      if (!isEnded(row.status)) toRun.push(row);
    }
    await this.queues.enqueue(toRun);
  }
}
