import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The matching engine's state: offers (their asks), orders (jobs' bids) and allocations. The book
 * lives in memory and is rebuilt from these tables; each matching step writes them, with its
 * outbox messages, in one transaction. Quotes gain what the engine needs to honour them: the
 * offer's attributes, and the instant the price stops holding (the end of its tariff slot).
 */
export class MatchingBook1764180000000 implements MigrationInterface {
  name = 'MatchingBook1764180000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE market.quotes ADD COLUMN priced_until timestamptz`);
    await q.query(`ALTER TABLE market.quotes ADD COLUMN attributes jsonb NOT NULL DEFAULT '{}'::jsonb`);
    await q.query(`UPDATE market.quotes q SET attributes = o.attributes FROM market.offers o
                    WHERE o.provider_id = q.provider_id AND o.offer_id = q.offer_id`);
    await q.query(`ALTER TABLE market.quotes ALTER COLUMN attributes DROP DEFAULT`);

    await q.query(`
      CREATE TABLE matching.offers (
        provider_id text NOT NULL,
        offer_id text NOT NULL,
        instrument text NOT NULL,
        region text NOT NULL,
        grid_zone text NOT NULL,
        compute_nano_usd bigint NOT NULL,
        energy_nano_usd bigint NOT NULL,
        effective_nano_usd bigint NOT NULL,
        capacity_micro bigint NOT NULL,
        allocated_micro bigint NOT NULL,
        tick_seq bigint NOT NULL,
        as_of timestamptz NOT NULL,
        valid_until timestamptz NOT NULL,
        attributes jsonb NOT NULL,
        priority bigint NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "PK_matching_offers" PRIMARY KEY (provider_id, offer_id),
        CONSTRAINT offers_allocated_check CHECK (allocated_micro >= 0)
      )`);
    await q.query(`CREATE INDEX offers_valid_until_idx ON matching.offers (valid_until)`);

    await q.query(`
      CREATE TABLE matching.orders (
        job_id uuid NOT NULL,
        customer_id text NOT NULL,
        instrument text NOT NULL,
        quantity_micro bigint NOT NULL,
        limit_nano_usd bigint NOT NULL,
        allow_split boolean NOT NULL,
        constraints jsonb NOT NULL,
        earliest_start timestamptz NOT NULL,
        latest_start timestamptz NOT NULL,
        deadline timestamptz NOT NULL,
        may_defer boolean NOT NULL,
        forecast jsonb NOT NULL,
        submitted_at timestamptz NOT NULL,
        status text NOT NULL,
        filled_micro bigint NOT NULL,
        fill_count integer NOT NULL,
        step_count integer NOT NULL,
        priority bigint NOT NULL,
        wake_at timestamptz,
        reason text,
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "PK_matching_orders" PRIMARY KEY (job_id),
        CONSTRAINT orders_status_check CHECK (status IN ('open', 'deferred', 'filled', 'cancelled', 'expired')),
        CONSTRAINT orders_filled_check CHECK (filled_micro >= 0 AND filled_micro <= quantity_micro)
      )`);
    await q.query(`CREATE INDEX orders_live_idx ON matching.orders (priority) WHERE status IN ('open', 'deferred')`);

    await q.query(`
      CREATE TABLE matching.allocations (
        allocation_id text NOT NULL,
        job_id uuid NOT NULL,
        customer_id text NOT NULL,
        provider_id text NOT NULL,
        offer_id text NOT NULL,
        instrument text NOT NULL,
        region text NOT NULL,
        grid_zone text NOT NULL,
        quantity_micro bigint NOT NULL,
        compute_nano_usd bigint NOT NULL,
        energy_nano_usd bigint NOT NULL,
        effective_nano_usd bigint NOT NULL,
        amount_nano_usd bigint NOT NULL,
        fee_nano_usd bigint NOT NULL,
        matched_at timestamptz NOT NULL,
        CONSTRAINT "PK_matching_allocations" PRIMARY KEY (allocation_id),
        CONSTRAINT allocations_quantity_check CHECK (quantity_micro > 0)
      )`);
    await q.query(`CREATE INDEX allocations_job_idx ON matching.allocations (job_id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of ['allocations', 'orders', 'offers']) await q.query(`DROP TABLE matching.${t}`);
    await q.query(`ALTER TABLE market.quotes DROP COLUMN attributes`);
    await q.query(`ALTER TABLE market.quotes DROP COLUMN priced_until`);
  }
}
