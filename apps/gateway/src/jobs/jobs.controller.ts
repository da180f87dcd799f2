import { Body, Controller, Delete, Get, Headers, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import type { Response } from 'express';
import { DataSource } from 'typeorm';
import { JOB_STATUSES, TERMINAL_JOB_STATUSES, type JobStatus } from '#contracts';
import { AppSchema } from '#persistence';
import { parseRequest, ProblemException } from '#runtime';
import { decodeCursor, encodeCursor } from '../market/cursor.js';
import { JobIntake } from './job-intake.service.js';
import { CUSTOMER_HEADER, customerIdSchema, idempotencyKeySchema, jobIdParam, jobListQuery, jobRequestSchema } from './job.request.js';
import { JOB_COLUMNS, jobView, orderOf, type AllocationRow, type EventRow, type JobRow } from './job.view.js';

const G = AppSchema.Gateway;

/** The caller's customer account (until API keys, issue 7, it is named by a header). */
export function customerOf(raw: string | undefined): string {
  const parsed = customerIdSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ProblemException({ title: 'unauthenticated', status: 401, detail: `send your customer id in the ${CUSTOMER_HEADER} header` });
  }
  return parsed.data;
}

@Controller('v1/jobs')
export class JobsController {
  constructor(
    private readonly intake: JobIntake,
    private readonly dataSource: DataSource,
  ) {}

  /** Submits a job. The same Idempotency-Key with the same body returns the same job (200). */
  @Post()
  async submit(
    @Headers(CUSTOMER_HEADER) customer: string | undefined,
    @Headers('idempotency-key') key: string | undefined,
    @Body() body: unknown,
    @Res({ passthrough: true }) res: Response,
  ) {
    const customerId = customerOf(customer);
    const idempotencyKey = parseRequest(idempotencyKeySchema, key, 'header');
    const request = parseRequest(jobRequestSchema, body, 'body');
    const { job, replayed } = await this.intake.submit(customerId, idempotencyKey, request);
    res.status(replayed ? 200 : 201).location(`/v1/jobs/${job.job_id}`);
    if (replayed) res.setHeader('Idempotent-Replayed', 'true');
    return jobView(job);
  }

  @Get()
  async list(@Headers(CUSTOMER_HEADER) customer: string | undefined, @Query() raw: unknown) {
    const customerId = customerOf(customer);
    const q = parseRequest(jobListQuery, raw, 'query');
    if (q.status !== undefined && !(JOB_STATUSES as readonly string[]).includes(q.status)) {
      throw new ProblemException({ title: 'invalid query', status: 400, detail: `status: one of ${JOB_STATUSES.join(', ')}` });
    }
    const after = decodeCursor(q.cursor, 2);
    const rows: JobRow[] = await this.dataSource.query(
      `SELECT ${JOB_COLUMNS} FROM "${G}".jobs
        WHERE customer_id = $1 AND ($2::text IS NULL OR status = $2)
          AND ($3::timestamptz IS NULL OR (created_at, job_id) < ($3::timestamptz, $4::uuid))
        ORDER BY created_at DESC, job_id DESC LIMIT $5`,
      [customerId, q.status ?? null, after?.[0] ?? null, after?.[1] ?? null, q.limit + 1],
    );
    const page = rows.slice(0, q.limit);
    const last = page.at(-1);
    return {
      items: page.map((r) => jobView(r)),
      nextCursor: rows.length > q.limit && last !== undefined ? encodeCursor([last.created_at.toISOString(), last.job_id]) : null,
    };
  }

  /** The job, its lifecycle (every step, in order) and its allocations. */
  @Get(':id')
  async get(@Headers(CUSTOMER_HEADER) customer: string | undefined, @Param('id') rawId: string) {
    const customerId = customerOf(customer);
    const job = await this.find(customerId, parseRequest(jobIdParam, rawId, 'path'));
    const [events, allocations]: [EventRow[], AllocationRow[]] = await Promise.all([
      this.dataSource.query(
        `SELECT event_id, type, status, reason, filled_quantity::text AS filled_quantity, allocation_ids, until, at
           FROM "${G}".job_events WHERE job_id = $1 ORDER BY at, recorded_at, event_id`,
        [job.job_id],
      ),
      this.dataSource.query(
        `SELECT allocation_id, provider_id, offer_id, region, grid_zone, quantity_micro, compute_nano_usd, energy_nano_usd,
                effective_nano_usd, amount_nano_usd, fee_nano_usd, matched_at
           FROM "${G}".matching_allocations WHERE job_id = $1 ORDER BY matched_at, allocation_id`,
        [job.job_id],
      ),
    ]);
    return jobView(job, events, allocations);
  }

  /**
   * Cancels what is not matched yet. Accepted (202) and carried out by the matching engine; the
   * job shows `cancelled` (or stays `matched` for what was already allocated) when it is done.
   */
  @Delete(':id')
  @HttpCode(202)
  async cancel(@Headers(CUSTOMER_HEADER) customer: string | undefined, @Param('id') rawId: string) {
    const customerId = customerOf(customer);
    const job = await this.find(customerId, parseRequest(jobIdParam, rawId, 'path'));
    const status = job.status as JobStatus;
    if (TERMINAL_JOB_STATUSES.has(status) || status === 'matched' || status === 'dispatched' || status === 'running') {
      throw new ProblemException({ title: 'cannot cancel', status: 409, detail: `job ${job.job_id} is ${status}: nothing is left to cancel` });
    }
    // An UPDATE through TypeORM answers [rows, count].
    const [rows]: [JobRow[], number] = await this.dataSource.query(
      `UPDATE "${G}".jobs SET cancel_requested_at = COALESCE(cancel_requested_at, now()), updated_at = now()
        WHERE job_id = $1 RETURNING ${JOB_COLUMNS}`,
      [job.job_id],
    );
    const updated = rows[0] as JobRow;
    await this.intake.enqueueCancel(orderOf(updated), 'cancelled by the customer', updated.cancel_requested_at as Date);
    return jobView(updated);
  }

  private async find(customerId: string, jobId: string): Promise<JobRow> {
    // Another customer's job is "not found": its existence is not theirs to learn.
    const rows: JobRow[] = await this.dataSource.query(`SELECT ${JOB_COLUMNS} FROM "${G}".jobs WHERE job_id = $1 AND customer_id = $2`, [jobId, customerId]);
    const job = rows[0];
    if (job === undefined) throw new ProblemException({ title: 'not found', status: 404, detail: `no job ${jobId}` });
    return job;
  }
}
