import { createHash, randomUUID } from 'node:crypto';
import { InjectQueue } from '@nestjs/bullmq';
import { Inject, Injectable } from '@nestjs/common';
import type { Queue } from 'bullmq';
import type { Logger } from 'pino';
import { DataSource } from 'typeorm';
import { DEFAULT_JOB_OPTIONS, MatchingJobName, queueJobs, QueueName, Topic, type JobEvent, type Order } from '#contracts';
import { encodeMessage } from '#messaging';
import { AppSchema } from '#persistence';
import { worstCaseFeeNanoUsd, worstCaseNanoUsd } from '#pricing';
import { CONFIG, LOGGER, ProblemException, type Config } from '#runtime';
import { FUNDS_CHECK, type FundsCheck } from './funds.js';
import type { JobRequest } from './job.request.js';
import { JOB_COLUMNS, type JobRow } from './job.view.js';
import { JobWriter } from './job-writer.js';
import { MarketSnapshot } from './market-snapshot.js';
import { baselinesOf, eligibleOffers, forecast, termsOf, TermsError, unsatisfiable, type JobTerms } from '#market';

const G = AppSchema.Gateway;
const matching = queueJobs[QueueName.Matching];

/** JSON with object keys sorted, so the same request always hashes the same. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function requestHash(request: JobRequest): string {
  return createHash('sha256').update(canonical(request)).digest('hex');
}

/**
 * Job intake: validate, check the market can serve it at all, forecast, reserve the worst case,
 * store the job with its `submitted` event and queue it for the matching engine under a
 * deterministic id (both grouped with concurrent requests: `JobWriter`). A crash between the commit and the queue is repaired by the
 * sweeper, which re-queues what the engine has not acknowledged; the engine ignores a second copy.
 */
@Injectable()
export class JobIntake {
  constructor(
    private readonly dataSource: DataSource,
    private readonly market: MarketSnapshot,
    @InjectQueue(QueueName.Matching) private readonly queue: Queue,
    private readonly writer: JobWriter,
    @Inject(FUNDS_CHECK) private readonly funds: FundsCheck,
    @Inject(CONFIG) private readonly config: Config,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async submit(customerId: string, idempotencyKey: string, req: JobRequest): Promise<{ job: JobRow; replayed: boolean }> {
    const hash = requestHash(req);
    const now = Date.now();
    let terms: JobTerms;
    try {
      terms = termsOf(req, now);
    } catch (error) {
      if (error instanceof TermsError) {
        const earlier = await this.byKey(customerId, idempotencyKey);
        if (earlier !== undefined) return { job: this.replay(earlier, hash), replayed: true };
        throw new ProblemException({ title: error.title, status: error.status, detail: error.detail });
      }
      // A retry of an accepted job gets that job back, even once its terms no longer hold.
      const earlier = await this.byKey(customerId, idempotencyKey);
      if (earlier !== undefined) return { job: this.replay(earlier, hash), replayed: true };
      throw error;
    }
    let snapshot = await this.market.get();
    // A refusal is never based on a cached view: the offer may have arrived within the last second.
    if (unsatisfiable(snapshot, req.instrument, req.constraints, now) !== undefined) snapshot = await this.market.get(0);
    const why = unsatisfiable(snapshot, req.instrument, req.constraints, now);
    if (why !== undefined) {
      const earlier = await this.byKey(customerId, idempotencyKey);
      if (earlier !== undefined) return { job: this.replay(earlier, hash), replayed: true };
      throw new ProblemException({ title: 'constraints cannot be met', status: 422, detail: why });
    }
    const eligible = eligibleOffers(snapshot, req.instrument, req.constraints, now);
    const slots = req.deferrable ? forecast(snapshot, eligible, now, terms.latestStart) : [];
    const baselines = baselinesOf(eligible, now);

    // A retry of an accepted job must not reserve money again: answer it before the hold.
    const earlier = await this.byKey(customerId, idempotencyKey);
    if (earlier !== undefined) return { job: this.replay(earlier, hash), replayed: true };

    const worst = worstCaseNanoUsd(terms.quantityMicro, terms.limitNanoUsd);
    const hold = worst + worstCaseFeeNanoUsd(worst, this.config.PLATFORM_FEE_BPS);
    const jobId = randomUUID();
    const funds = await this.funds.reserve({ customerId, jobId, amountNanoUsd: hold });
    if (!funds.ok) {
      throw new ProblemException({
        title: 'insufficient funds',
        status: 402,
        detail: `the job's worst case is ${hold} nano-USD (quantity × limit + fee); ${funds.availableNanoUsd} nano-USD is available`,
        extensions: { requiredNanoUsd: hold.toString(), availableNanoUsd: funds.availableNanoUsd.toString() },
      });
    }

    const submittedAt = new Date(now);
    const event: JobEvent = {
      eventId: `${jobId}.0`,
      jobId,
      customerId,
      type: 'submitted',
      status: 'submitted',
      reason: null,
      quantity: req.quantity,
      filledQuantity: '0',
      allocationIds: [],
      until: null,
      at: submittedAt.toISOString(),
    };
    let inserted: JobRow | undefined;
    try {
      inserted = await this.writer.write({
      job_id: jobId,
      customer_id: customerId,
      idempotency_key: idempotencyKey,
      request_hash: hash,
      instrument: req.instrument,
      quantity: req.quantity,
      limit_nano_usd: terms.limitNanoUsd.toString(),
      allow_split: req.allowSplit,
      constraints: req.constraints,
      earliest_start: new Date(terms.earliestStart).toISOString(),
      deadline: new Date(terms.deadline).toISOString(),
      latest_start: new Date(terms.latestStart).toISOString(),
      runtime_seconds: req.runtimeSeconds,
      may_defer: req.deferrable,
      work: req.work,
      forecast: slots,
      hold_nano_usd: hold.toString(),
      baseline_first_listed_nano_usd: baselines.firstListedNanoUsd?.toString() ?? null,
      baseline_cheapest_compute_nano_usd: baselines.cheapestIgnoringEnergyNanoUsd?.toString() ?? null,
      created_at: submittedAt.toISOString(),
      event_id: event.eventId,
      message: encodeMessage(Topic.JobEvents, event),
      });
    } catch (error) {
      this.releaseHold(jobId);
      throw error;
    }
    if (inserted === undefined) {
      this.releaseHold(jobId);
      // The key was taken, by an earlier request or a concurrent one.
      const earlier = await this.byKey(customerId, idempotencyKey);
      if (earlier === undefined) throw new Error('idempotency conflict without a stored job');
      return { job: this.replay(earlier, hash), replayed: true };
    }
    return { job: inserted, replayed: false };
  }

  /** The job was not stored: its hold goes back (best effort; an orphan hold expires anyway). */
  private releaseHold(jobId: string): void {
    this.funds.release(jobId).catch((error: unknown) => this.logger.warn({ err: error, jobId }, 'could not release the hold of a job that was not stored'));
  }

  /** Queues a job for matching; a failure is logged and left to the sweeper (the job is stored). */
  async enqueueSubmit(order: Order): Promise<void> {
    try {
      await this.queue.add(MatchingJobName.Submit, order, { ...DEFAULT_JOB_OPTIONS, jobId: matching[MatchingJobName.Submit].jobId(order) });
    } catch (error) {
      this.logger.warn({ err: error, jobId: order.jobId }, 'could not queue the job yet; the sweeper will');
    }
  }

  async enqueueCancel(order: Order, reason: string, requestedAt: Date): Promise<void> {
    const payload = { order, reason, requestedAt: requestedAt.toISOString() };
    try {
      await this.queue.add(MatchingJobName.Cancel, payload, { ...DEFAULT_JOB_OPTIONS, jobId: matching[MatchingJobName.Cancel].jobId(payload) });
    } catch (error) {
      this.logger.warn({ err: error, jobId: order.jobId }, 'could not queue the cancel yet; the sweeper will');
    }
  }

  private async byKey(customerId: string, idempotencyKey: string): Promise<JobRow | undefined> {
    const rows: JobRow[] = await this.dataSource.query(`SELECT ${JOB_COLUMNS} FROM "${G}".jobs WHERE customer_id = $1 AND idempotency_key = $2`, [
      customerId,
      idempotencyKey,
    ]);
    return rows[0];
  }

  private replay(job: JobRow, hash: string): JobRow {
    if (job.request_hash !== hash) {
      throw new ProblemException({
        title: 'idempotency key reused',
        status: 409,
        detail: `this Idempotency-Key was used for job ${job.job_id} with a different request; use a new key for a new job`,
      });
    }
    return job;
  }
}
