import { InjectQueue } from '@nestjs/bullmq';
import { Inject, Injectable } from '@nestjs/common';
import type { Queue } from 'bullmq';
import type { Logger } from 'pino';
import { DataSource } from 'typeorm';
import { DEFAULT_JOB_OPTIONS, MatchingJobName, queueJobs, QueueName, type Requeue } from '#contracts';
import { formatQuantity } from '#pricing';
import { CONFIG, LOGGER, type Config } from '#runtime';
import { dispatchMetrics } from '../dispatch.metrics.js';
import type { RequestOutcome } from '../providers/adapter.js';
import { ProviderRegistry } from '../providers/provider-registry.js';
import { dispatchEvent, DispatchStore, isEnded, type AllocationRow, type JobRow, type ResultRecord } from './dispatch.store.js';
import { JobLifecycle } from './job-lifecycle.js';
import { gpuSecondsOf, remainderOf, usageIdOf } from './work.js';

const requeueJob = queueJobs[QueueName.Matching][MatchingJobName.Requeue];

/** Results written together: up to this many, or whatever has waited this long. */
const RESULT_BATCH = 64;
const RESULT_LINGER_MS = 20;

/** How long a run waits for its allocation's row to be committed before leaving it to BullMQ's retry. */
const COMMIT_WAIT_MS = 3_000;
const COMMIT_POLL_MS = 25;

/** Why an allocation stopped before its work was done. */
interface Stop {
  readonly kind: 'preempted' | 'provider-failed';
  readonly reason: string;
}

/** Thrown when the process is stopping: the run is retried by the next worker and resumes. */
class Interrupted extends Error {}

/**
 * Buffers finished requests and writes them (with their usage events) a batch at a time, so
 * metering costs a fraction of a round trip per request. Only what was written counts as done:
 * a crash before a write means those requests run again, and meter once, under the same ids.
 */
class ResultWriter {
  private buffer: { record: ResultRecord; answeredAt: number }[] = [];
  private writing: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private failure: unknown;

  constructor(
    private readonly store: DispatchStore,
    private readonly allocation: AllocationRow,
  ) {}

  add(record: ResultRecord): void {
    this.buffer.push({ record, answeredAt: performance.now() });
    if (this.buffer.length >= RESULT_BATCH) this.kick();
    else this.timer ??= setTimeout(() => this.kick(), RESULT_LINGER_MS);
  }

  /** Everything added so far, written; rethrows a failed write. */
  async flush(): Promise<void> {
    this.kick();
    await this.writing;
    if (this.failure !== undefined) throw this.failure;
  }

  private kick(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.buffer.length === 0) return;
    const batch = this.buffer;
    this.buffer = [];
    this.writing = this.writing.then(async () => {
      if (this.failure !== undefined) return;
      try {
        await this.store.saveResults(this.allocation, batch.map((b) => b.record));
        const now = performance.now();
        for (const b of batch) dispatchMetrics.meteringSeconds.observe((now - b.answeredAt) / 1_000);
      } catch (error) {
        this.failure = error;
      }
    });
  }
}

/**
 * Runs one allocation on its provider: the requests it was given (those without a result yet,
 * so a resumed run picks up where the last one stopped) or its GPU time. Each answer is stored
 * with its usage event; when the provider preempts or gives up, what is left goes back to
 * matching (to the next-cheapest eligible offer) until the job has used its attempts.
 */
@Injectable()
export class AllocationRunner {
  private readonly stopping = new AbortController();

  constructor(
    private readonly dataSource: DataSource,
    private readonly store: DispatchStore,
    private readonly lifecycle: JobLifecycle,
    private readonly providers: ProviderRegistry,
    @InjectQueue(QueueName.Matching) private readonly matching: Queue,
    @Inject(CONFIG) private readonly config: Config,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** Stops every run in flight; each keeps what it finished and resumes on the next worker. */
  stop(): void {
    this.stopping.abort();
  }

  async run(allocationId: string): Promise<void> {
    const started = performance.now();
    // The consumer queues an allocation inside its transaction (so a failed commit is redelivered
    // and queued again): a worker is often quicker than that commit. Wait for it a little here,
    // rather than fail and wait out BullMQ's back-off.
    let state = await this.store.allocationWithJob(allocationId);
    for (let waited = 0; state === undefined && waited < COMMIT_WAIT_MS; waited += COMMIT_POLL_MS) {
      await new Promise((resolve) => setTimeout(resolve, COMMIT_POLL_MS));
      state = await this.store.allocationWithJob(allocationId);
    }
    if (state === undefined) throw new Error(`allocation ${allocationId} is not recorded yet`);
    let a = state.allocation;
    if (!isEnded(a.status)) {
      a = await this.execute(a, state.job);
      dispatchMetrics.allocationSeconds.observe((performance.now() - started) / 1_000);
    }
    await this.handBack(a);
  }

  private async execute(a: AllocationRow, job: JobRow): Promise<AllocationRow> {
    if (a.status === 'queued') {
      await this.store.markRunning(a.allocationId, dispatchEvent(job, `${a.allocationId}:running`, 'running', 'running', null, [a.allocationId], new Date()));
    }
    const { adapter, limiter, settings } = this.providers.of(a.providerId);
    const signal = this.stopping.signal;

    if (job.workKind === 'gpu-hours') {
      const seconds = gpuSecondsOf(a.quantityMicro);
      await limiter.take();
      const out = await adapter.runGpu({ allocationId: a.allocationId, providerId: a.providerId, ordinal: 0, total: 1 }, seconds, signal);
      if (signal.aborted) throw new Interrupted('dispatcher stopping: the GPU run restarts on the next worker');
      const result: ResultRecord = {
        requestIndex: 0,
        customId: null,
        status: out.kind === 'provider-failed' && out.gpuSeconds === 0n ? 'failed' : 'succeeded',
        statusCode: null,
        body: null,
        error: out.reason,
        inputTokens: null,
        outputTokens: null,
        gpuSeconds: out.gpuSeconds,
        energyKwh: out.energyKwh,
        usageId: out.gpuSeconds > 0n ? usageIdOf(a.allocationId, 'gpu') : null,
        startedAt: out.startedAt,
        endedAt: out.endedAt,
      };
      const stop: Stop | undefined = out.kind === 'completed' ? undefined : { kind: out.kind, reason: out.reason ?? out.kind };
      return this.finish(a, stop, remainderOf(a.quantityMicro, seconds - out.gpuSeconds, seconds), [result]);
    }

    const requests = await this.store.requestsToRun(a);
    const ordinal = new Map(a.requests.map((index, i) => [index, i]));
    const writer = new ResultWriter(this.store, a);
    let stop: Stop | undefined;
    let next = 0;
    const lane = async (): Promise<void> => {
      while (stop === undefined && !signal.aborted && next < requests.length) {
        const r = requests[next++]!;
        await limiter.take();
        const t0 = performance.now();
        const out: RequestOutcome = await adapter.runRequest(
          { allocationId: a.allocationId, providerId: a.providerId, ordinal: ordinal.get(r.index) ?? 0, total: a.requests.length },
          r,
          signal,
        );
        dispatchMetrics.requestSeconds.observe((performance.now() - t0) / 1_000);
        dispatchMetrics.requests.inc({ outcome: out.kind });
        if (out.kind === 'succeeded') {
          writer.add({
            requestIndex: r.index,
            customId: r.customId,
            status: 'succeeded',
            statusCode: out.statusCode,
            body: out.body,
            error: null,
            inputTokens: out.inputTokens,
            outputTokens: out.outputTokens,
            gpuSeconds: null,
            energyKwh: null,
            usageId: usageIdOf(a.allocationId, r.index),
            startedAt: out.startedAt,
            endedAt: out.endedAt,
          });
        } else if (out.kind === 'failed') {
          writer.add({
            requestIndex: r.index,
            customId: r.customId,
            status: 'failed',
            statusCode: out.statusCode,
            body: null,
            error: out.error,
            inputTokens: null,
            outputTokens: null,
            gpuSeconds: null,
            energyKwh: null,
            usageId: null,
            startedAt: out.startedAt,
            endedAt: out.endedAt,
          });
        } else if (!signal.aborted) {
          stop ??= out;
        }
      }
    };
    const lanes = Math.max(1, Math.min(settings?.requestConcurrency ?? 1, requests.length));
    await Promise.all(Array.from({ length: lanes }, lane));
    await writer.flush();
    if (signal.aborted) throw new Interrupted('dispatcher stopping: the allocation resumes on the next worker');
    // Every request answered: done. Otherwise, what has a result decides what is left.
    const finished = stop === undefined ? undefined : await this.store.doneRequests(this.dataSource, a.allocationId);
    const unfinished = finished === undefined ? [] : a.requests.filter((i) => !finished.has(i));
    return this.finish(a, unfinished.length > 0 ? stop : undefined, remainderOf(a.quantityMicro, BigInt(unfinished.length), BigInt(a.requests.length)), [], unfinished);
  }

  /**
   * Records how the allocation ended, in one transaction with the job's books: a remainder goes
   * back to the job's pool and to matching (or, with no attempts left, is given up on and the
   * job will fail), and the job ends if this was its last piece.
   */
  private async finish(a: AllocationRow, stop: Stop | undefined, remainder: bigint, results: readonly ResultRecord[], unfinished: readonly number[] = []): Promise<AllocationRow> {
    const now = new Date();
    return this.store.transaction(async (m) => {
      const locked = await this.store.lockJobAndAllocation(m, a.allocationId);
      if (locked === undefined) throw new Error(`allocation ${a.allocationId} vanished`);
      const { job, allocation: current } = locked;
      if (isEnded(current.status)) return current; // another worker finished it meanwhile
      await this.store.saveResults(current, results, m);
      const ended: AllocationRow = { ...current, status: 'completed', reason: null, remainderMicro: 0n };
      const events = [];
      if (stop !== undefined && remainder > 0n) {
        ended.status = stop.kind === 'preempted' ? 'preempted' : 'failed';
        ended.remainderMicro = remainder;
        if (job.requeues < this.config.DISPATCH_MAX_ATTEMPTS) {
          job.requeues += 1;
          job.returnedMicro += remainder;
          job.pool = [...unfinished, ...job.pool];
          ended.requeueAttempt = job.requeues;
          ended.reason = `${stop.reason}; ${formatQuantity(remainder)} back to matching (attempt ${job.requeues + 1})`;
        } else {
          job.abandonedMicro += remainder;
          ended.reason = `${stop.reason}; ${formatQuantity(remainder)} given up after ${this.config.DISPATCH_MAX_ATTEMPTS} attempt(s) elsewhere`;
          job.reason ??= `work left undone: ${ended.reason}`;
        }
        events.push(dispatchEvent(job, `${a.allocationId}:ended`, 'attempt-ended', 'running', ended.reason, [a.allocationId], now));
      }
      await this.store.endAllocation(m, ended);
      await this.store.saveJob(m, job, events);
      await this.lifecycle.settle(m, job, now);
      dispatchMetrics.allocationsEnded.inc({ status: ended.status });
      return ended;
    });
  }

  /** Puts an ended allocation's remainder back on the matching queue (again, after a crash: same job id). */
  private async handBack(a: AllocationRow): Promise<void> {
    if (a.requeueAttempt === null || a.remainderMicro <= 0n) return;
    const payload: Requeue = {
      jobId: a.jobId,
      customerId: a.customerId,
      allocationId: a.allocationId,
      remainder: formatQuantity(a.remainderMicro),
      excludeProvider: a.providerId,
      attempt: a.requeueAttempt,
      reason: a.reason ?? 'the provider did not finish',
      requestedAt: new Date().toISOString(),
    };
    await this.matching.add(MatchingJobName.Requeue, payload, { ...DEFAULT_JOB_OPTIONS, jobId: requeueJob.jobId(payload) });
    this.logger.info({ allocationId: a.allocationId, remainder: payload.remainder, attempt: a.requeueAttempt }, 'remainder back to matching');
  }
}
