import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { Queue, Worker, type Job } from 'bullmq';
import type { Logger } from 'pino';
import { DEFAULT_JOB_OPTIONS, dispatchJobIdOf, dispatchQueueOf } from '#contracts';
import { bullConnectionOf, CONFIG, LOGGER, type Config } from '#runtime';
import { ProviderRegistry } from '../providers/provider-registry.js';
import { AllocationRunner } from './allocation.runner.js';
import { DispatchStore, type AllocationRow } from './dispatch.store.js';

/** How often the dispatcher looks for providers with work queued by another process. */
const SCAN_INTERVAL_MS = 5_000;

/**
 * One BullMQ queue and worker per provider, made when the provider is first seen (providers come
 * and go with the market, so they cannot be declared up front as `@Processor`s). The worker's
 * concurrency is the provider's; its lock is short, so allocations held by a killed dispatcher
 * are taken up again within seconds, and resume where they stopped.
 */
@Injectable()
export class DispatchQueues implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly queues = new Map<string, Queue>();
  private readonly workers = new Map<string, Worker>();
  private scanner: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly store: DispatchStore,
    private readonly providers: ProviderRegistry,
    private readonly runner: AllocationRunner,
    @Inject(CONFIG) private readonly config: Config,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    for (const id of this.providers.directory.named) this.ensureWorker(id);
    await this.scan();
    this.scanner = setInterval(() => void this.scan().catch((err: unknown) => this.logger.warn({ err }, 'provider scan failed')), SCAN_INTERVAL_MS);
    this.scanner.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    this.closed = true;
    if (this.scanner !== undefined) clearInterval(this.scanner);
    this.runner.stop();
    await Promise.all([...this.workers.values()].map((w) => w.close()));
    await Promise.all([...this.queues.values()].map((q) => q.close()));
  }

  /** Queues allocations on their providers' queues; an allocation already queued is not queued twice. */
  async enqueue(allocations: readonly AllocationRow[]): Promise<void> {
    const byProvider = new Map<string, AllocationRow[]>();
    for (const a of allocations) {
      const list = byProvider.get(a.providerId);
      if (list === undefined) byProvider.set(a.providerId, [a]);
      else list.push(a);
    }
    await Promise.all(
      [...byProvider].map(async ([providerId, list]) => {
        this.ensureWorker(providerId);
        await this.queueOf(providerId).addBulk(
          list.map((a) => ({ name: 'run', data: { allocationId: a.allocationId }, opts: { ...DEFAULT_JOB_OPTIONS, jobId: dispatchJobIdOf(a.allocationId) } })),
        );
      }),
    );
  }

  private async scan(): Promise<void> {
    for (const id of await this.store.activeProviders()) this.ensureWorker(id);
  }

  private queueOf(providerId: string): Queue {
    let queue = this.queues.get(providerId);
    if (queue === undefined) {
      queue = new Queue(dispatchQueueOf(providerId), { connection: bullConnectionOf(this.config), prefix: this.config.QUEUE_PREFIX });
      this.queues.set(providerId, queue);
    }
    return queue;
  }

  private ensureWorker(providerId: string): void {
    if (this.closed || this.workers.has(providerId)) return;
    const settings = this.providers.of(providerId).settings;
    const worker = new Worker(dispatchQueueOf(providerId), (job: Job<{ allocationId: string }>) => this.runner.run(job.data.allocationId), {
      connection: bullConnectionOf(this.config),
      prefix: this.config.QUEUE_PREFIX,
      concurrency: settings?.concurrency ?? 1,
      ...(settings !== undefined && settings.allocationsPerSecond > 0 ? { limiter: { max: settings.allocationsPerSecond, duration: 1_000 } } : {}),
      lockDuration: 10_000,
      stalledInterval: 5_000,
      maxStalledCount: 100,
    });
    worker.on('failed', (job, err) => {
      if (err.constructor.name === 'Interrupted') return;
      this.logger.warn({ allocationId: job?.data.allocationId, attempt: job?.attemptsMade, err }, 'allocation run failed; retrying');
    });
    worker.on('error', (err) => this.logger.warn({ err, providerId }, 'dispatch worker error'));
    this.workers.set(providerId, worker);
    this.logger.info({ providerId, concurrency: worker.concurrency }, 'dispatch worker started');
  }
}
