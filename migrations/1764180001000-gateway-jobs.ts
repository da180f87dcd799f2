import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The gateway owns the job record: what the customer asked for (with the idempotency key and the
 * hash of the request that created it), and the lifecycle projected from `jobs.events.v1`.
 * Allocations and live asks are read through views of the matching schema.
 */
export class GatewayJobs1764180001000 implements MigrationInterface {
  name = 'GatewayJobs1764180001000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE gateway.jobs (
        job_id uuid NOT NULL,
        customer_id text NOT NULL,
        idempotency_key text NOT NULL,
        request_hash text NOT NULL,
        instrument text NOT NULL,
        quantity numeric NOT NULL,
        limit_nano_usd bigint NOT NULL,
        allow_split boolean NOT NULL,
        constraints jsonb NOT NULL,
        earliest_start timestamptz NOT NULL,
        deadline timestamptz NOT NULL,
        latest_start timestamptz NOT NULL,
        runtime_seconds integer NOT NULL,
        may_defer boolean NOT NULL,
        work jsonb NOT NULL,
        forecast jsonb NOT NULL,
        hold_nano_usd bigint NOT NULL,
        status text NOT NULL,
        reason text,
        filled_quantity numeric NOT NULL DEFAULT 0,
        deferred_until timestamptz,
        cancel_requested_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "PK_gateway_jobs" PRIMARY KEY (job_id),
        CONSTRAINT jobs_idempotency_unique UNIQUE (customer_id, idempotency_key)
      )`);
    await q.query(`CREATE INDEX jobs_customer_created_idx ON gateway.jobs (customer_id, created_at, job_id)`);
    // The sweeper's work list: jobs the matching engine has not acknowledged yet.
    await q.query(`CREATE INDEX jobs_unacknowledged_idx ON gateway.jobs (created_at) WHERE status = 'submitted' OR cancel_requested_at IS NOT NULL`);

    await q.query(`
      CREATE TABLE gateway.job_events (
        event_id text NOT NULL,
        job_id uuid NOT NULL,
        type text NOT NULL,
        status text NOT NULL,
        reason text,
        filled_quantity numeric NOT NULL,
        allocation_ids jsonb NOT NULL,
        until timestamptz,
        at timestamptz NOT NULL,
        recorded_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "PK_gateway_job_events" PRIMARY KEY (event_id)
      )`);
    await q.query(`CREATE INDEX job_events_job_idx ON gateway.job_events (job_id, at)`);

    await q.query(`CREATE VIEW gateway.matching_allocations AS
      SELECT allocation_id, job_id, customer_id, provider_id, offer_id, instrument, region, grid_zone, quantity_micro,
             compute_nano_usd, energy_nano_usd, effective_nano_usd, amount_nano_usd, fee_nano_usd, matched_at
        FROM matching.allocations`);
    await q.query(`CREATE VIEW gateway.matching_asks AS
      SELECT provider_id, offer_id, instrument, region, grid_zone, compute_nano_usd, energy_nano_usd, effective_nano_usd,
             capacity_micro - allocated_micro AS available_micro, valid_until, attributes, priority
        FROM matching.offers`);
    await q.query(`CREATE VIEW gateway.market_fx_rates AS SELECT base, quote, as_of, rate FROM market.fx_rates`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const v of ['market_fx_rates', 'matching_asks', 'matching_allocations']) await q.query(`DROP VIEW gateway.${v}`);
    await q.query(`DROP TABLE gateway.job_events`);
    await q.query(`DROP TABLE gateway.jobs`);
  }
}
