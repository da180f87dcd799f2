import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What billing needs to price usage and hold money for it: the allocations (their unit prices),
 * usage that arrived before its allocation (posted when the allocation comes), and holds that
 * capture usage while open (still resolved exactly once).
 */
export class BillingUsage1764190001000 implements MigrationInterface {
  name = 'BillingUsage1764190001000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE billing.allocations (
        allocation_id text NOT NULL,
        job_id uuid NOT NULL,
        customer_id text NOT NULL,
        provider_id text NOT NULL,
        offer_id text NOT NULL,
        instrument text NOT NULL,
        quantity_micro bigint NOT NULL,
        compute_nano_usd bigint NOT NULL,
        energy_nano_usd bigint NOT NULL,
        effective_nano_usd bigint NOT NULL,
        amount_nano_usd bigint NOT NULL,
        fee_nano_usd bigint NOT NULL,
        matched_at timestamptz NOT NULL,
        received_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "PK_billing_allocations" PRIMARY KEY (allocation_id)
      )`);
    await q.query(`CREATE INDEX allocations_job_idx ON billing.allocations (job_id)`);
    await q.query(`
      CREATE TABLE billing.pending_usage (
        usage_id text NOT NULL,
        allocation_id text NOT NULL,
        payload jsonb NOT NULL,
        received_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "PK_billing_pending_usage" PRIMARY KEY (usage_id)
      )`);
    await q.query(`CREATE INDEX pending_usage_allocation_idx ON billing.pending_usage (allocation_id)`);
    await q.query(`CREATE INDEX holds_job_idx ON billing.holds (job_id)`);

    // What open holds keep from each customer, maintained with the holds themselves, so the
    // pre-trade check reads one row instead of summing every open hold.
    await q.query(`ALTER TABLE billing.accounts ADD COLUMN held bigint NOT NULL DEFAULT 0`);
    await q.query(`
      CREATE FUNCTION billing.track_held() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        before bigint := 0;
        after bigint := 0;
      BEGIN
        IF TG_OP = 'UPDATE' AND OLD.status = 'open' THEN before := GREATEST(OLD.amount - OLD.captured, 0); END IF;
        IF NEW.status = 'open' THEN after := GREATEST(NEW.amount - NEW.captured, 0); END IF;
        IF after <> before THEN
          INSERT INTO billing.accounts AS a (account_id, kind, owner_id, asset, held)
          VALUES ('customer:' || NEW.customer_id, 'customer', NEW.customer_id, 'USD', after - before)
          ON CONFLICT (account_id) DO UPDATE SET held = a.held + excluded.held;
        END IF;
        RETURN NULL;
      END $$`);
    await q.query(`CREATE TRIGGER holds_track_held AFTER INSERT OR UPDATE ON billing.holds FOR EACH ROW EXECUTE FUNCTION billing.track_held()`);

    // An open hold may capture usage; leaving `open` still happens once, and nothing else changes.
    await q.query(`
      CREATE OR REPLACE FUNCTION billing.check_hold_transition() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'DELETE' THEN
          RAISE EXCEPTION 'holds are never deleted (hold %)', OLD.hold_id USING ERRCODE = 'insufficient_privilege';
        END IF;
        IF OLD.status <> 'open' THEN
          RAISE EXCEPTION 'hold % is already %', OLD.hold_id, OLD.status USING ERRCODE = 'check_violation';
        END IF;
        IF NEW.hold_id <> OLD.hold_id OR NEW.amount <> OLD.amount OR NEW.customer_id <> OLD.customer_id OR NEW.captured < OLD.captured THEN
          RAISE EXCEPTION 'hold % may only capture usage or be resolved', OLD.hold_id USING ERRCODE = 'check_violation';
        END IF;
        IF NEW.status <> 'open' THEN
          NEW.resolved_at := now();
        END IF;
        RETURN NEW;
      END $$`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER holds_track_held ON billing.holds`);
    await q.query(`DROP FUNCTION billing.track_held()`);
    await q.query(`ALTER TABLE billing.accounts DROP COLUMN held`);
    await q.query(`DROP INDEX billing.holds_job_idx`);
    await q.query(`DROP TABLE billing.pending_usage`);
    await q.query(`DROP TABLE billing.allocations`);
  }
}
