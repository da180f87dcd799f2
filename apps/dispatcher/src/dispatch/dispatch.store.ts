import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { Topic, type Allocation, type JobEvent, type UsageMetered } from '#contracts';
import { encodeMessage, enqueueOutbox, jsonRowWithValue, outboxRowsJson, type OutboundMessage } from '#messaging';
import { AppSchema } from '#persistence';
import { formatQuantity, parseQuantityMicro } from '#pricing';
import type { WorkRequest } from '../providers/adapter.js';
import { requestsFor } from './work.js';

const D = AppSchema.Dispatch;

export interface JobRow {
  jobId: string;
  customerId: string;
  instrument: string;
  quantityMicro: bigint;
  workKind: 'requests' | 'gpu-hours';
  requestCount: number;
  pool: number[];
  allocatedMicro: bigint;
  returnedMicro: bigint;
  abandonedMicro: bigint;
  requeues: number;
  closedStep: number | null;
  closedFilledMicro: bigint | null;
  status: 'active' | 'completed' | 'failed';
  reason: string | null;
}

export type AllocationStatus = 'queued' | 'running' | 'completed' | 'preempted' | 'failed';

export interface AllocationRow {
  allocationId: string;
  jobId: string;
  customerId: string;
  providerId: string;
  instrument: string;
  quantityMicro: bigint;
  requests: number[];
  status: AllocationStatus;
  reason: string | null;
  remainderMicro: bigint;
  requeueAttempt: number | null;
  requeueStep: number | null;
}

/** One finished piece of work, as written to `results` (and metered when it used anything). */
export interface ResultRecord {
  readonly requestIndex: number;
  readonly customId: string | null;
  readonly status: 'succeeded' | 'failed';
  readonly statusCode: number | null;
  readonly body: unknown;
  readonly error: string | null;
  readonly inputTokens: bigint | null;
  readonly outputTokens: bigint | null;
  readonly gpuSeconds: bigint | null;
  readonly energyKwh: string | null;
  readonly usageId: string | null;
  readonly startedAt: Date;
  readonly endedAt: Date;
}

interface JobDbRow {
  job_id: string;
  customer_id: string;
  instrument: string;
  quantity_micro: string;
  work_kind: 'requests' | 'gpu-hours';
  request_count: number;
  pool: number[];
  allocated_micro: string;
  returned_micro: string;
  abandoned_micro: string;
  requeues: number;
  closed_step: number | null;
  closed_filled_micro: string | null;
  status: 'active' | 'completed' | 'failed';
  reason: string | null;
}

interface AllocationDbRow {
  allocation_id: string;
  job_id: string;
  customer_id: string;
  provider_id: string;
  instrument: string;
  quantity_micro: string;
  requests: number[];
  status: AllocationStatus;
  reason: string | null;
  remainder_micro: string;
  requeue_attempt: number | null;
  requeue_step: number | null;
}

const jobOf = (r: JobDbRow): JobRow => ({
  jobId: r.job_id,
  customerId: r.customer_id,
  instrument: r.instrument,
  quantityMicro: BigInt(r.quantity_micro),
  workKind: r.work_kind,
  requestCount: r.request_count,
  pool: r.pool,
  allocatedMicro: BigInt(r.allocated_micro),
  returnedMicro: BigInt(r.returned_micro),
  abandonedMicro: BigInt(r.abandoned_micro),
  requeues: r.requeues,
  closedStep: r.closed_step,
  closedFilledMicro: r.closed_filled_micro === null ? null : BigInt(r.closed_filled_micro),
  status: r.status,
  reason: r.reason,
});

const allocationOf = (r: AllocationDbRow): AllocationRow => ({
  allocationId: r.allocation_id,
  jobId: r.job_id,
  customerId: r.customer_id,
  providerId: r.provider_id,
  instrument: r.instrument,
  quantityMicro: BigInt(r.quantity_micro),
  requests: r.requests,
  status: r.status,
  reason: r.reason,
  remainderMicro: BigInt(r.remainder_micro),
  requeueAttempt: r.requeue_attempt,
  requeueStep: r.requeue_step,
});

export const isEnded = (s: AllocationStatus): boolean => s === 'completed' || s === 'preempted' || s === 'failed';

/** A lifecycle event of the dispatcher's, named after what it is about, so a replay names it the same. */
export function dispatchEvent(
  job: JobRow,
  eventId: string,
  type: JobEvent['type'],
  status: JobEvent['status'],
  reason: string | null,
  allocationIds: readonly string[],
  at: Date,
): OutboundMessage {
  return encodeMessage(Topic.JobEvents, {
    eventId,
    jobId: job.jobId,
    customerId: job.customerId,
    type,
    status,
    reason: reason === null ? null : reason.slice(0, 500),
    quantity: formatQuantity(job.quantityMicro),
    filledQuantity: formatQuantity(job.allocatedMicro - job.returnedMicro),
    allocationIds: [...allocationIds],
    until: null,
    at: at.toISOString(),
  });
}

/**
 * The dispatch schema. Every change to a job's sharing-out happens under a lock on the job's row,
 * so allocations arriving, allocations ending and matching's steps never interleave for one job.
 */
@Injectable()
export class DispatchStore {
  constructor(private readonly dataSource: DataSource) {}

  transaction<T>(fn: (m: EntityManager) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(fn);
  }

  /**
   * Locks the job's row, first creating it from the gateway's record (all requests in the pool).
   * Undefined when no such job is on record.
   */
  async lockJob(m: EntityManager, jobId: string, create: boolean): Promise<JobRow | undefined> {
    const lock = async () => {
      const rows: JobDbRow[] = await m.query(`SELECT * FROM "${D}".jobs WHERE job_id = $1 FOR UPDATE`, [jobId]);
      return rows[0] === undefined ? undefined : jobOf(rows[0]);
    };
    const found = await lock();
    if (found !== undefined || !create) return found;
    // First sight of the job: its work is read once, here (it may be 10,000 requests).
    await m.query(
      `INSERT INTO "${D}".jobs (job_id, customer_id, instrument, quantity_micro, work_kind, request_count, pool)
       SELECT w.job_id, w.customer_id, w.instrument, round(w.quantity * 1000000)::bigint, w.work->>'type', n.count,
              ARRAY(SELECT generate_series(0, n.count - 1))
         FROM "${D}".job_work w
         CROSS JOIN LATERAL (SELECT COALESCE(jsonb_array_length(w.work->'requests'), 0) AS count) n
        WHERE w.job_id = $1
       ON CONFLICT (job_id) DO NOTHING`,
      [jobId],
    );
    return lock();
  }

  /** Writes the job's row and queues these messages, in one statement. */
  async saveJob(m: EntityManager, j: JobRow, messages: readonly OutboundMessage[] = []): Promise<void> {
    await m.query(
      `WITH job AS (
         UPDATE "${D}".jobs SET pool = $2, allocated_micro = $3, returned_micro = $4, abandoned_micro = $5, requeues = $6,
                closed_step = $7, closed_filled_micro = $8, status = $9, reason = $10, updated_at = now()
          WHERE job_id = $1)
       ${OUTBOX_FROM_11}`,
      [
        j.jobId,
        j.pool,
        j.allocatedMicro.toString(),
        j.returnedMicro.toString(),
        j.abandonedMicro.toString(),
        j.requeues,
        j.closedStep,
        j.closedFilledMicro?.toString() ?? null,
        j.status,
        j.reason,
        outboxRowsJson(messages),
      ],
    );
  }

  async allocation(m: EntityManager | DataSource, allocationId: string, lock = false): Promise<AllocationRow | undefined> {
    const rows: AllocationDbRow[] = await m.query(`SELECT * FROM "${D}".allocations WHERE allocation_id = $1${lock ? ' FOR UPDATE' : ''}`, [allocationId]);
    return rows[0] === undefined ? undefined : allocationOf(rows[0]);
  }

  async job(m: EntityManager | DataSource, jobId: string): Promise<JobRow | undefined> {
    const rows: JobDbRow[] = await m.query(`SELECT * FROM "${D}".jobs WHERE job_id = $1`, [jobId]);
    return rows[0] === undefined ? undefined : jobOf(rows[0]);
  }

  async allocationsOf(m: EntityManager, jobId: string): Promise<AllocationRow[]> {
    const rows: AllocationDbRow[] = await m.query(`SELECT * FROM "${D}".allocations WHERE job_id = $1`, [jobId]);
    return rows.map(allocationOf);
  }

  /**
   * Records a new allocation of a locked job and gives it its share of the pool. Returns the row,
   * and whether it is new (a redelivered allocation changes nothing).
   */
  async addAllocation(m: EntityManager, job: JobRow, a: Allocation, messages: readonly OutboundMessage[]): Promise<{ row: AllocationRow; created: boolean }> {
    const quantity = parseQuantityMicro(a.quantity);
    const pending = job.quantityMicro - job.allocatedMicro + job.returnedMicro;
    const k = requestsFor(job.pool.length, pending, quantity);
    const requests = job.pool.slice(0, k);
    const inserted: unknown[] = await m.query(
      `INSERT INTO "${D}".allocations (allocation_id, job_id, customer_id, provider_id, offer_id, instrument, region, quantity_micro, requests)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (allocation_id) DO NOTHING RETURNING 1`,
      [a.allocationId, a.jobId, a.customerId, a.providerId, a.offerId, a.instrument, a.region, quantity.toString(), requests],
    );
    if (inserted.length === 0) {
      // A redelivery: the allocation has its share already, and the job is left as it is.
      const existing = await this.allocation(m, a.allocationId);
      if (existing === undefined) throw new Error(`allocation ${a.allocationId} conflicted but is not there`);
      return { row: existing, created: false };
    }
    job.pool = job.pool.slice(k);
    job.allocatedMicro += quantity;
    await this.saveJob(m, job, messages);
    return {
      row: {
        allocationId: a.allocationId,
        jobId: a.jobId,
        customerId: a.customerId,
        providerId: a.providerId,
        instrument: a.instrument,
        quantityMicro: quantity,
        requests,
        status: 'queued',
        reason: null,
        remainderMicro: 0n,
        requeueAttempt: null,
        requeueStep: null,
      },
      created: true,
    };
  }

  /** An allocation and its job, read together (a run's first query). */
  async allocationWithJob(allocationId: string): Promise<{ allocation: AllocationRow; job: JobRow } | undefined> {
    const rows: (AllocationDbRow & { job: JobDbRow })[] = await this.dataSource.query(
      `SELECT a.*, to_jsonb(j) AS job FROM "${D}".allocations a JOIN "${D}".jobs j USING (job_id) WHERE a.allocation_id = $1`,
      [allocationId],
    );
    const r = rows[0];
    return r === undefined ? undefined : { allocation: allocationOf(r), job: jobOf(r.job) };
  }

  /** Marks an allocation running and queues its `running` event, the first time only: one statement. */
  async markRunning(allocationId: string, message: OutboundMessage): Promise<void> {
    await this.dataSource.query(
      `WITH running AS (
         UPDATE "${D}".allocations SET status = 'running', started_at = now() WHERE allocation_id = $1 AND status = 'queued' RETURNING 1)
       INSERT INTO "${D}".outbox (topic, key, value, headers)
       SELECT x.topic, x.key, convert_to(x.value::text, 'UTF8'), x.headers FROM json_to_recordset($2::json) AS x(topic text, key text, value json, headers jsonb)
        WHERE EXISTS (SELECT 1 FROM running)`,
      [allocationId, outboxRowsJson([message])],
    );
  }

  /** Locks a job and one of its allocations (to end it). */
  async lockJobAndAllocation(m: EntityManager, allocationId: string): Promise<{ allocation: AllocationRow; job: JobRow } | undefined> {
    const rows: (AllocationDbRow & { job: JobDbRow })[] = await m.query(
      `SELECT a.*, to_jsonb(j) AS job FROM "${D}".allocations a JOIN "${D}".jobs j USING (job_id) WHERE a.allocation_id = $1 FOR UPDATE`,
      [allocationId],
    );
    const r = rows[0];
    return r === undefined ? undefined : { allocation: allocationOf(r), job: jobOf(r.job) };
  }

  async endAllocation(m: EntityManager, a: AllocationRow): Promise<void> {
    await m.query(
      `UPDATE "${D}".allocations SET status = $2, reason = $3, remainder_micro = $4, requeue_attempt = $5, ended_at = now()
        WHERE allocation_id = $1`,
      [a.allocationId, a.status, a.reason, a.remainderMicro.toString(), a.requeueAttempt],
    );
  }

  /** The allocation's requests that have no result yet, as the customer sent them. */
  async requestsToRun(a: AllocationRow): Promise<WorkRequest[]> {
    if (a.requests.length === 0) return [];
    const rows: { idx: string; req: { custom_id: string; url?: string; body: Record<string, unknown> } }[] = await this.dataSource.query(
      `SELECT r.idx - 1 AS idx, r.req FROM "${D}".job_work w, jsonb_array_elements(w.work->'requests') WITH ORDINALITY AS r(req, idx)
        WHERE w.job_id = $1 AND r.idx - 1 = ANY($2::bigint[])
          AND NOT EXISTS (SELECT 1 FROM "${D}".results x WHERE x.allocation_id = $3 AND x.request_index = r.idx - 1)
        ORDER BY r.idx`,
      [a.jobId, a.requests, a.allocationId],
    );
    return rows.map((r) => ({ index: Number(r.idx), customId: r.req.custom_id, url: r.req.url ?? '/v1/chat/completions', body: r.req.body }));
  }

  /** Matching took these remainders back at step `step`. */
  async markRequeueTaken(m: EntityManager, allocationIds: readonly string[], step: number): Promise<void> {
    if (allocationIds.length === 0) return;
    await m.query(
      `UPDATE "${D}".allocations SET requeue_step = GREATEST(COALESCE(requeue_step, 0), $2)
        WHERE allocation_id = ANY($1) AND requeue_attempt IS NOT NULL`,
      [allocationIds, step],
    );
  }

  /** Request indexes of this allocation that already have a result. */
  async doneRequests(m: EntityManager | DataSource, allocationId: string): Promise<Set<number>> {
    const rows: { request_index: number }[] = await m.query(`SELECT request_index FROM "${D}".results WHERE allocation_id = $1`, [allocationId]);
    return new Set(rows.map((r) => r.request_index));
  }

  /**
   * Writes finished pieces of an allocation and, for each that is new, its usage event: one
   * statement, so a piece is stored and metered together or not at all, and a piece written
   * twice (a run resumed after a crash) is metered once.
   */
  async saveResults(allocation: AllocationRow, results: readonly ResultRecord[], m: EntityManager | DataSource = this.dataSource): Promise<void> {
    if (results.length === 0) return;
    const usage = results.flatMap((r) => {
      if (r.usageId === null) return [];
      const message: UsageMetered = {
        usageId: r.usageId,
        allocationId: allocation.allocationId,
        jobId: allocation.jobId,
        customerId: allocation.customerId,
        providerId: allocation.providerId,
        instrument: allocation.instrument,
        inputTokens: r.inputTokens?.toString() ?? null,
        outputTokens: r.outputTokens?.toString() ?? null,
        gpuSeconds: r.gpuSeconds?.toString() ?? null,
        energyKwh: r.energyKwh,
        startedAt: r.startedAt.toISOString(),
        endedAt: r.endedAt.toISOString(),
      };
      const m = encodeMessage(Topic.UsageMetered, message);
      return [jsonRowWithValue({ usage_id: r.usageId, topic: m.topic, key: m.key, headers: m.headers }, m.value)];
    });
    await m.query(
      `WITH saved AS (
         INSERT INTO "${D}".results (allocation_id, request_index, job_id, custom_id, status, status_code, body, error,
                input_tokens, output_tokens, gpu_seconds, energy_kwh, usage_id, started_at, ended_at)
         SELECT $1, x.request_index, $2::uuid, x.custom_id, x.status, x.status_code, x.body, x.error, x.input_tokens,
                x.output_tokens, x.gpu_seconds, x.energy_kwh, x.usage_id, x.started_at, x.ended_at
           FROM json_to_recordset($3::json) AS x(request_index integer, custom_id text, status text, status_code integer, body jsonb,
                error text, input_tokens bigint, output_tokens bigint, gpu_seconds bigint, energy_kwh numeric, usage_id text,
                started_at timestamptz, ended_at timestamptz)
         ON CONFLICT (allocation_id, request_index) DO NOTHING
         RETURNING usage_id)
       INSERT INTO "${D}".outbox (topic, key, value, headers)
       SELECT u.topic, u.key, convert_to(u.value::text, 'UTF8'), u.headers
         FROM json_to_recordset($4::json) AS u(usage_id text, topic text, key text, value json, headers jsonb)
        WHERE u.usage_id IN (SELECT usage_id FROM saved)`,
      [
        allocation.allocationId,
        allocation.jobId,
        JSON.stringify(
          results.map((r) => ({
            request_index: r.requestIndex,
            custom_id: r.customId,
            status: r.status,
            status_code: r.statusCode,
            body: r.body ?? null,
            error: r.error,
            input_tokens: r.inputTokens?.toString() ?? null,
            output_tokens: r.outputTokens?.toString() ?? null,
            gpu_seconds: r.gpuSeconds?.toString() ?? null,
            energy_kwh: r.energyKwh,
            usage_id: r.usageId,
            started_at: r.startedAt.toISOString(),
            ended_at: r.endedAt.toISOString(),
          })),
        ),
        `[${usage.join(',')}]`,
      ],
    );
  }

  async failedRequests(m: EntityManager, jobId: string): Promise<number> {
    const rows: { n: string }[] = await m.query(
      `SELECT count(DISTINCT request_index) AS n FROM "${D}".results r
        WHERE job_id = $1 AND status = 'failed'
          AND NOT EXISTS (SELECT 1 FROM "${D}".results s WHERE s.job_id = r.job_id AND s.request_index = r.request_index AND s.status = 'succeeded')`,
      [jobId],
    );
    return Number(rows[0]?.n ?? 0);
  }

  /** Providers with allocations still to run: their queues need a worker after a restart. */
  async activeProviders(): Promise<string[]> {
    const rows: { provider_id: string }[] = await this.dataSource.query(
      `SELECT DISTINCT provider_id FROM "${D}".allocations WHERE status IN ('queued', 'running')`,
    );
    return rows.map((r) => r.provider_id);
  }

  async outbox(m: EntityManager, messages: readonly OutboundMessage[]): Promise<void> {
    await enqueueOutbox(m, D, messages);
  }
}

/** The tail of a statement that also queues the messages in $11 (none is fine). */
const OUTBOX_FROM_11 = `INSERT INTO "${D}".outbox (topic, key, value, headers)
  SELECT x.topic, x.key, convert_to(x.value::text, 'UTF8'), x.headers FROM json_to_recordset($11::json) AS x(topic text, key text, value json, headers jsonb)`;
