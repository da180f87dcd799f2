import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { Topic, type JobEvent } from '#contracts';
import { KafkaHandler, type InboundBatch } from '#messaging';
import { parseQuantityMicro } from '#pricing';
import { DispatchStore } from './dispatch.store.js';
import { JobLifecycle } from './job-lifecycle.js';
import { matchingStepOf } from './work.js';

/** Matching steps that end a job's matching: fully matched, or its rest expired or cancelled. */
const CLOSING = new Set(['matched', 'expired', 'cancelled']);

/** The engine's steps the dispatcher acts on: a closing one, or a remainder taken back. */
const concernsDispatch = (e: JobEvent): boolean => matchingStepOf(e.eventId, e.jobId) !== undefined && (CLOSING.has(e.type) || e.type === 'requeued');

/**
 * Follows the matching engine's steps on `jobs.events.v1` for what the dispatcher must know to
 * end a job: when matching is done with it (and at what net quantity), and when a remainder put
 * back was taken. Steps of jobs that never had an allocation are none of its business.
 */
@Controller()
export class JobStepsConsumer {
  constructor(
    private readonly store: DispatchStore,
    private readonly lifecycle: JobLifecycle,
  ) {}

  // The dispatcher's own events and the engine's other steps skip the transaction.
  @KafkaHandler(Topic.JobEvents, { only: concernsDispatch })
  async handle(@Payload() batch: InboundBatch<typeof Topic.JobEvents>): Promise<void> {
    const m = batch.manager;
    const now = new Date();
    for (const { payload: e } of batch.messages) {
      if (!concernsDispatch(e)) continue;
      const step = matchingStepOf(e.eventId, e.jobId) as number;
      const closes = CLOSING.has(e.type);
      // A job with fills always has allocations; one without may still be ours after a requeue.
      const job = await this.store.lockJob(m, e.jobId, e.status === 'matched' || e.type === 'requeued');
      if (job === undefined) continue;
      await this.store.markRequeueTaken(m, e.allocationIds, step);
      if (closes && (job.closedStep === null || job.closedStep < step)) {
        job.closedStep = step;
        job.closedFilledMicro = parseQuantityMicro(e.filledQuantity);
        await this.store.saveJob(m, job);
      }
      await this.lifecycle.settle(m, job, now);
    }
  }
}
