import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The dispatcher's state: each job's work as it is shared out (which requests are not yet given
 * to an allocation, what was put back, whether matching is done with it), each allocation's run,
 * and each request's result, whose key is also its usage event's id. The customer's work is read
 * from the gateway's job record through a read-only view (docs/decisions/0009).
 * A remainder put back to matching lets the order's quantity, constraints and latest start change.
 */
export class Dispatch1764200000000 implements MigrationInterface {
  name = 'Dispatch1764200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE matching.orders ADD COLUMN requeued jsonb NOT NULL DEFAULT '[]'::jsonb`);

    await q.query(`
      CREATE TABLE dispatch.jobs (
        job_id uuid NOT NULL,
        customer_id text NOT NULL,
        instrument text NOT NULL,
        quantity_micro bigint NOT NULL,
        work_kind text NOT NULL,
        request_count integer NOT NULL,
        pool integer[] NOT NULL,
        allocated_micro bigint NOT NULL DEFAULT 0,
        returned_micro bigint NOT NULL DEFAULT 0,
        abandoned_micro bigint NOT NULL DEFAULT 0,
        requeues integer NOT NULL DEFAULT 0,
        closed_step integer,
        closed_filled_micro bigint,
        status text NOT NULL DEFAULT 'active',
        reason text,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "PK_dispatch_jobs" PRIMARY KEY (job_id),
        CONSTRAINT jobs_work_kind_check CHECK (work_kind IN ('requests', 'gpu-hours')),
        CONSTRAINT jobs_status_check CHECK (status IN ('active', 'completed', 'failed'))
      )`);
    await q.query(`
      CREATE TABLE dispatch.allocations (
        allocation_id text NOT NULL,
        job_id uuid NOT NULL,
        customer_id text NOT NULL,
        provider_id text NOT NULL,
        offer_id text NOT NULL,
        instrument text NOT NULL,
        region text NOT NULL,
        quantity_micro bigint NOT NULL,
        requests integer[] NOT NULL,
        status text NOT NULL DEFAULT 'queued',
        reason text,
        remainder_micro bigint NOT NULL DEFAULT 0,
        requeue_attempt integer,
        requeue_step integer,
        started_at timestamptz,
        ended_at timestamptz,
        received_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "PK_dispatch_allocations" PRIMARY KEY (allocation_id),
        CONSTRAINT allocations_status_check CHECK (status IN ('queued', 'running', 'completed', 'preempted', 'failed'))
      )`);
    await q.query(`CREATE INDEX allocations_job_idx ON dispatch.allocations (job_id)`);
    await q.query(`CREATE INDEX allocations_active_idx ON dispatch.allocations (provider_id) WHERE status IN ('queued', 'running')`);
    await q.query(`
      CREATE TABLE dispatch.results (
        allocation_id text NOT NULL,
        request_index integer NOT NULL,
        job_id uuid NOT NULL,
        custom_id text,
        status text NOT NULL,
        status_code integer,
        body jsonb,
        error text,
        input_tokens bigint,
        output_tokens bigint,
        gpu_seconds bigint,
        energy_kwh numeric,
        usage_id text,
        started_at timestamptz NOT NULL,
        ended_at timestamptz NOT NULL,
        CONSTRAINT "PK_dispatch_results" PRIMARY KEY (allocation_id, request_index),
        CONSTRAINT results_status_check CHECK (status IN ('succeeded', 'failed'))
      )`);
    await q.query(`CREATE INDEX results_job_idx ON dispatch.results (job_id, request_index)`);

    // The gateway writes a job and its work before the job reaches matching, so an allocation
    // can never arrive here before the work it runs.
    await q.query(`
      CREATE VIEW dispatch.job_work AS
        SELECT job_id, customer_id, instrument, quantity, work FROM gateway.jobs`);

    // What the customer may read back: every result, newest attempt of each request first.
    await q.query(`
      CREATE VIEW gateway.dispatch_results AS
        SELECT r.job_id, r.request_index, r.custom_id, r.allocation_id, a.provider_id, r.status, r.status_code, r.body, r.error,
               r.input_tokens, r.output_tokens, r.gpu_seconds, r.energy_kwh, r.started_at, r.ended_at
          FROM dispatch.results r JOIN dispatch.allocations a USING (allocation_id)`);
    await q.query(`
      CREATE VIEW gateway.dispatch_allocations AS
        SELECT allocation_id, job_id, provider_id, status, reason, remainder_micro, requeue_attempt, started_at, ended_at
          FROM dispatch.allocations`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP VIEW gateway.dispatch_allocations`);
    await q.query(`DROP VIEW gateway.dispatch_results`);
    await q.query(`DROP VIEW dispatch.job_work`);
    await q.query(`DROP TABLE dispatch.results`);
    await q.query(`DROP TABLE dispatch.allocations`);
    await q.query(`DROP TABLE dispatch.jobs`);
    await q.query(`ALTER TABLE matching.orders DROP COLUMN requeued`);
  }
}
