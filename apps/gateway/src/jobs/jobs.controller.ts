import { Body, Controller, Delete, Get, Headers, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import type { Response } from 'express';
import { DataSource } from 'typeorm';
import { JOB_STATUSES, TERMINAL_JOB_STATUSES, type JobStatus } from '#contracts';
import { AppSchema } from '#persistence';
import { Access, CurrentPrincipal, Doc, parseRequest, ProblemException, type Principal } from '#runtime';
import { decodeCursor, encodeCursor } from '../market/cursor.js';
import { JobIntake } from './job-intake.service.js';
import { JOB_DETAIL_EXAMPLE, JOB_EXAMPLE, JOB_REQUEST_EXAMPLE, RESULTS_EXAMPLE } from './job.examples.js';
import { idempotencyKeySchema, jobIdParam, jobListQuery, jobRequestSchema, resultsQuery } from './job.request.js';
import { JOB_COLUMNS, jobView, orderOf, resultView, type AllocationRow, type EventRow, type JobRow, type ResultRow } from './job.view.js';

const G = AppSchema.Gateway;

const idParam = { id: jobIdParam };

/** A customer's jobs: the customer is the principal of the API key, and sees and acts on its own jobs only. */
@Controller('v1/jobs')
@Access.roles('customer')
export class JobsController {
  constructor(
    private readonly intake: JobIntake,
    private readonly dataSource: DataSource,
  ) {}

  /** Submits a job. The same Idempotency-Key with the same body returns the same job (200). */
  @Post()
  @Doc({
    tag: 'jobs',
    summary: 'Submit a job',
    description:
      'Holds the worst case (quantity × limit + fee) on the balance, then queues the job for matching. The same Idempotency-Key with the same body answers the same job (200, `Idempotent-Replayed: true`); with another body, 409.',
    body: jobRequestSchema,
    headers: { 'Idempotency-Key': { description: 'Any unique string per job; reuse it only to retry.', required: true, example: 'batch-2026-11-27-001' } },
    requestExample: JOB_REQUEST_EXAMPLE,
    responseExample: JOB_EXAMPLE,
    errors: { 402: 'The available balance does not cover the worst case.', 409: 'The Idempotency-Key was used with another body.', 422: 'Terms no market could serve (deadline passed, constraints exclude everything).' },
  })
  async submit(
    @CurrentPrincipal() who: Principal,
    @Headers('idempotency-key') key: string | undefined,
    @Body() body: unknown,
    @Res({ passthrough: true }) res: Response,
  ) {
    const customerId = who.id;
    const idempotencyKey = parseRequest(idempotencyKeySchema, key, 'header');
    const request = parseRequest(jobRequestSchema, body, 'body');
    const { job, replayed } = await this.intake.submit(customerId, idempotencyKey, request);
    res.status(replayed ? 200 : 201).location(`/v1/jobs/${job.job_id}`);
    if (replayed) res.setHeader('Idempotent-Replayed', 'true');
    return jobView(job);
  }

  @Get()
  @Doc({ tag: 'jobs', summary: 'Your jobs, newest first', query: jobListQuery, responseExample: { items: [JOB_EXAMPLE], nextCursor: null } })
  async list(@CurrentPrincipal() who: Principal, @Query() raw: unknown) {
    const customerId = who.id;
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
  @Doc({ tag: 'jobs', summary: 'A job, its lifecycle and its allocations', params: idParam, responseExample: JOB_DETAIL_EXAMPLE, errors: { 404: 'No such job, or not yours.' } })
  async get(@CurrentPrincipal() who: Principal, @Param('id') rawId: string) {
    const customerId = who.id;
    const job = await this.find(customerId, parseRequest(jobIdParam, rawId, 'path'));
    const [events, allocations]: [EventRow[], AllocationRow[]] = await Promise.all([
      this.dataSource.query(
        `SELECT event_id, type, status, reason, filled_quantity::text AS filled_quantity, allocation_ids, until, at
           FROM "${G}".job_events WHERE job_id = $1 ORDER BY at, recorded_at, event_id`,
        [job.job_id],
      ),
      this.dataSource.query(
        `SELECT m.allocation_id, m.provider_id, m.offer_id, m.region, m.grid_zone, m.quantity_micro, m.compute_nano_usd, m.energy_nano_usd,
                m.effective_nano_usd, m.amount_nano_usd, m.fee_nano_usd, m.matched_at,
                d.status AS run_status, d.reason AS run_reason, d.remainder_micro::text AS remainder_micro, d.started_at, d.ended_at
           FROM "${G}".matching_allocations m LEFT JOIN "${G}".dispatch_allocations d USING (allocation_id)
          WHERE m.job_id = $1 ORDER BY m.matched_at, m.allocation_id`,
        [job.job_id],
      ),
    ]);
    return jobView(job, events, allocations);
  }

  /**
   * What the job's work produced so far: for requests, each request's latest answer (the
   * provider's response body, or why it failed) with the tokens it used, in the order the
   * requests were sent; for GPU-hours, each allocation's run. A request with no entry has not
   * run yet (or never will, when the job ended without it).
   */
  @Get(':id/results')
  @Doc({ tag: 'jobs', summary: "What a job's work produced so far", params: idParam, query: resultsQuery, responseExample: RESULTS_EXAMPLE, errors: { 404: 'No such job, or not yours.' } })
  async results(@CurrentPrincipal() who: Principal, @Param('id') rawId: string, @Query() raw: unknown) {
    const customerId = who.id;
    const job = await this.find(customerId, parseRequest(jobIdParam, rawId, 'path'));
    const q = parseRequest(resultsQuery, raw, 'query');
    const after = decodeCursor(q.cursor, 1)?.[0];
    if (after !== undefined && (typeof after !== 'number' || !Number.isSafeInteger(after))) {
      throw new ProblemException({ title: 'invalid query', status: 400, detail: 'cursor: not a cursor this endpoint issued' });
    }
    // Requests: the latest answer of each, paged by request. GPU-hours: one run per allocation, few enough for one page.
    const rows: ResultRow[] =
      job.work.type === 'requests'
        ? await this.dataSource.query(
            `SELECT DISTINCT ON (request_index) * FROM "${G}".dispatch_results
              WHERE job_id = $1 AND request_index > $2
              ORDER BY request_index, (status = 'succeeded') DESC, ended_at DESC LIMIT $3`,
            [job.job_id, after ?? -1, q.limit + 1],
          )
        : await this.dataSource.query(`SELECT * FROM "${G}".dispatch_results WHERE job_id = $1 ORDER BY started_at, allocation_id LIMIT 1000`, [job.job_id]);
    const page = rows.slice(0, q.limit);
    const last = page.at(-1);
    return {
      jobId: job.job_id,
      status: job.status,
      items: (job.work.type === 'requests' ? page : rows).map(resultView),
      nextCursor: job.work.type === 'requests' && rows.length > q.limit && last !== undefined ? encodeCursor([last.request_index]) : null,
    };
  }

  /**
   * Cancels what is not matched yet. Accepted (202) and carried out by the matching engine; the
   * job shows `cancelled` (or stays `matched` for what was already allocated) when it is done.
   */
  @Delete(':id')
  @HttpCode(202)
  @Doc({
    tag: 'jobs',
    summary: 'Cancel what is not matched yet',
    status: 202,
    params: idParam,
    responseExample: { ...JOB_EXAMPLE, cancelRequestedAt: '2026-11-27T09:01:00.000Z' },
    errors: { 404: 'No such job, or not yours.', 409: 'Nothing is left to cancel (matched, running or ended).' },
  })
  async cancel(@CurrentPrincipal() who: Principal, @Param('id') rawId: string) {
    const customerId = who.id;
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
