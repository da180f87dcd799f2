import { InjectQueue } from '@nestjs/bullmq';
import { Inject, Injectable } from '@nestjs/common';
import type { Queue } from 'bullmq';
import type { Logger } from 'pino';
import { DataSource } from 'typeorm';
import { DEFAULT_JOB_OPTIONS, MatchingJobName, queueJobs, QueueName } from '#contracts';
import { jsonRowWithValue, type OutboundMessage } from '#messaging';
import { AppSchema } from '#persistence';
import { LOGGER } from '#runtime';
import { JOB_COLUMNS, orderOf, type JobRow } from './job.view.js';

const G = AppSchema.Gateway;
const submit = queueJobs[QueueName.Matching][MatchingJobName.Submit];

/** Most jobs written by one statement. */
const MAX_JOBS_PER_WRITE = 500;

/** A new job as intake has validated it, with its `submitted` event ready for the outbox. */
export interface NewJob {
  readonly job_id: string;
  readonly customer_id: string;
  readonly idempotency_key: string;
  readonly request_hash: string;
  readonly instrument: string;
  readonly quantity: string;
  readonly limit_nano_usd: string;
  readonly allow_split: boolean;
  readonly constraints: unknown;
  readonly earliest_start: string;
  readonly deadline: string;
  readonly latest_start: string;
  readonly runtime_seconds: number;
  readonly may_defer: boolean;
  readonly work: unknown;
  readonly forecast: unknown;
  readonly hold_nano_usd: string;
  readonly baseline_first_listed_nano_usd: string | null;
  readonly baseline_cheapest_compute_nano_usd: string | null;
  readonly created_at: string;
  readonly event_id: string;
  readonly message: OutboundMessage;
}

interface Pending {
  readonly job: NewJob;
  resolve(row: JobRow | undefined): void;
  reject(error: unknown): void;
}

/**
 * Group commit for intake: the jobs of concurrent requests are written together, by one
 * statement (job rows, their `submitted` events and those events' outbox rows: all or nothing,
 * per job and as a whole), and queued with one BullMQ call. Under load this turns two round
 * trips per job into two per batch; a lone request waits for nothing (the batch is flushed on
 * the next turn of the event loop).
 */
@Injectable()
export class JobWriter {
  private pending: Pending[] = [];
  private flushing: Promise<void> | undefined;

  constructor(
    private readonly dataSource: DataSource,
    @InjectQueue(QueueName.Matching) private readonly queue: Queue,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** Stores the job and queues it; undefined when its idempotency key was already taken. */
  write(job: NewJob): Promise<JobRow | undefined> {
    return new Promise((resolve, reject) => {
      this.pending.push({ job, resolve, reject });
      if (this.pending.length === 1 && this.flushing === undefined) setImmediate(() => this.kick());
    });
  }

  private kick(): void {
    this.flushing ??= this.flush().finally(() => {
      this.flushing = undefined;
      if (this.pending.length > 0) setImmediate(() => this.kick());
    });
  }

  private async flush(): Promise<void> {
    const batch = this.pending.splice(0, MAX_JOBS_PER_WRITE);
    if (batch.length === 0) return;
    let rows: JobRow[];
    try {
      rows = await this.insert(batch.map((p) => p.job));
    } catch (error) {
      for (const p of batch) p.reject(error);
      return;
    }
    const byId = new Map(rows.map((r) => [r.job_id, r]));
    const orders = rows.map(orderOf);
    if (orders.length > 0) {
      try {
        await this.queue.addBulk(orders.map((o) => ({ name: MatchingJobName.Submit, data: o, opts: { ...DEFAULT_JOB_OPTIONS, jobId: submit.jobId(o) } })));
      } catch (error) {
        // Stored, so accepted: the sweeper queues what is still unacknowledged in a few seconds.
        this.logger.warn({ err: error, jobs: orders.length }, 'could not queue new jobs yet; the sweeper will');
      }
    }
    for (const p of batch) p.resolve(byId.get(p.job.job_id));
  }

  private insert(jobs: readonly NewJob[]): Promise<JobRow[]> {
    return this.dataSource.query(
      `WITH input AS (
         SELECT * FROM json_to_recordset($1::json) AS x(job_id uuid, customer_id text, idempotency_key text, request_hash text,
           instrument text, quantity numeric, limit_nano_usd bigint, allow_split boolean, constraints jsonb, earliest_start timestamptz,
           deadline timestamptz, latest_start timestamptz, runtime_seconds integer, may_defer boolean, work jsonb, forecast jsonb,
           hold_nano_usd bigint, baseline_first_listed_nano_usd bigint, baseline_cheapest_compute_nano_usd bigint, created_at timestamptz, event_id text, topic text, key text, value json, headers jsonb)
       ), job AS (
         INSERT INTO "${G}".jobs (job_id, customer_id, idempotency_key, request_hash, instrument, quantity, limit_nano_usd, allow_split,
                constraints, earliest_start, deadline, latest_start, runtime_seconds, may_defer, work, forecast, hold_nano_usd,
                baseline_first_listed_nano_usd, baseline_cheapest_compute_nano_usd, status, created_at, updated_at)
         SELECT job_id, customer_id, idempotency_key, request_hash, instrument, quantity, limit_nano_usd, allow_split, constraints,
                earliest_start, deadline, latest_start, runtime_seconds, may_defer, work, forecast, hold_nano_usd,
                baseline_first_listed_nano_usd, baseline_cheapest_compute_nano_usd, 'submitted', created_at, created_at
           FROM input
         ON CONFLICT (customer_id, idempotency_key) DO NOTHING
         RETURNING ${JOB_COLUMNS}
       ), event AS (
         INSERT INTO "${G}".job_events (event_id, job_id, type, status, reason, filled_quantity, allocation_ids, until, at)
         SELECT i.event_id, i.job_id, 'submitted', 'submitted', NULL, 0, '[]'::jsonb, NULL, i.created_at
           FROM input i JOIN job j ON j.job_id = i.job_id
       ), outbox AS (
         INSERT INTO "${G}".outbox (topic, key, value, headers)
         SELECT i.topic, i.key, convert_to(i.value::text, 'UTF8'), i.headers FROM input i JOIN job j ON j.job_id = i.job_id ORDER BY i.created_at
       )
       SELECT * FROM job`,
      [
        `[${jobs.map(({ message, ...row }) => jsonRowWithValue({ ...row, topic: message.topic, key: message.key, headers: message.headers }, message.value)).join(',')}]`,
      ],
    );
  }
}
