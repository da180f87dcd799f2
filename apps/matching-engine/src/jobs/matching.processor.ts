import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Inject, type OnApplicationBootstrap } from '@nestjs/common';
import { UnrecoverableError, type Job } from 'bullmq';
import type { Logger } from 'pino';
import { describeIssues, MatchingJobName, queueJobs, QueueName } from '#contracts';
import { CONFIG, LOGGER, type Config } from '#runtime';
import { orderSpecOf } from '../book/book.store.js';
import { MatchingEngine } from '../book/matching.engine.js';

const jobs = queueJobs[QueueName.Matching];

/**
 * Takes jobs and cancels off the matching queue into the engine. BullMQ delivers at least once;
 * the engine makes a second delivery a no-op. A payload that can never be applied fails the job
 * at once (UnrecoverableError: no retries) and stays in the failed set with its reason, BullMQ's
 * dead-letter; anything else is retried with back-off.
 */
// A worker that dies holding jobs loses their locks after lockDuration; the next stalled check
// hands them to a live worker. Short, so a restarted engine is back to steady state in seconds
// (BullMQ's defaults are 30 s); a job is processed in milliseconds, and the lock renews at half.
@Processor(QueueName.Matching, { lockDuration: 5_000, stalledInterval: 2_500, maxStalledCount: 10 })
export class MatchingProcessor extends WorkerHost implements OnApplicationBootstrap {
  constructor(
    private readonly engine: MatchingEngine,
    @Inject(CONFIG) private readonly config: Config,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    super();
  }

  /** Many jobs in flight at once: the engine writes them in groups, one transaction per step. */
  onApplicationBootstrap(): void {
    this.worker.concurrency = this.config.MATCHING_CONCURRENCY;
  }

  async process(job: Job<unknown, void, string>): Promise<void> {
    switch (job.name) {
      case MatchingJobName.Submit: {
        const order = this.parse(job, jobs[MatchingJobName.Submit].schema);
        await this.engine.submit(order);
        return;
      }
      case MatchingJobName.Cancel: {
        const cancel = this.parse(job, jobs[MatchingJobName.Cancel].schema);
        await this.engine.cancel(cancel.order, cancel.reason);
        return;
      }
      case MatchingJobName.Requeue: {
        const parsed = jobs[MatchingJobName.Requeue].schema.safeParse(job.data);
        if (!parsed.success) return this.refuse(job, describeIssues(parsed.error));
        await this.engine.requeue(parsed.data);
        return;
      }
      default:
        throw new UnrecoverableError(`unknown job name ${JSON.stringify(job.name)} on ${QueueName.Matching}`);
    }
  }

  private parse<T extends { order: unknown } | { jobId: string }>(
    job: Job<unknown, void, string>,
    schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: Parameters<typeof describeIssues>[0] } },
  ): T {
    const parsed = schema.safeParse(job.data);
    if (!parsed.success) return this.refuse(job, describeIssues(parsed.error));
    const order = 'order' in parsed.data ? parsed.data.order : parsed.data;
    try {
      orderSpecOf(order as Parameters<typeof orderSpecOf>[0]);
    } catch (error) {
      return this.refuse(job, error instanceof Error ? error.message : String(error));
    }
    return parsed.data;
  }

  private refuse(job: Job<unknown, void, string>, detail: string): never {
    this.logger.error({ jobId: job.id, name: job.name, detail }, 'refusing a matching job that can never be applied');
    throw new UnrecoverableError(`invalid ${job.name} payload: ${detail}`);
  }
}
