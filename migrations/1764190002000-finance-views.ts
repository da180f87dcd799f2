import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Finance reads: the gateway serves them through views of the billing and matching schemas (it
 * never reads their tables), and BI tools get the same views in a `bi` schema, readable by a
 * role that can read nothing else and write nothing at all.
 */
export class FinanceViews1764190002000 implements MigrationInterface {
  name = 'FinanceViews1764190002000';

  async up(q: QueryRunner): Promise<void> {
    const entries = `SELECT e.entry_id, e.tx_id, t.idempotency_key, t.kind AS tx_kind, t.reverses, e.account_id, e.asset, e.amount, e.kind,
             e.customer_id, e.provider_id, e.job_id, e.allocation_id, e.usage_id, e.posted_at
        FROM billing.entries e JOIN billing.transactions t USING (tx_id)`;
    await q.query(`CREATE VIEW gateway.billing_entries AS ${entries}`);
    await q.query(`CREATE VIEW gateway.billing_balances AS
      SELECT a.account_id, a.kind, a.owner_id, b.asset, COALESCE(b.balance, 0) AS balance, a.credit_limit, a.held
        FROM billing.accounts a LEFT JOIN billing.balances b USING (account_id)`);
    await q.query(`CREATE VIEW gateway.billing_holds AS
      SELECT hold_id, customer_id, job_id, allocation_id, amount, captured, status, placed_at, resolved_at FROM billing.holds`);
    await q.query(`CREATE VIEW gateway.billing_allocations AS
      SELECT allocation_id, job_id, customer_id, provider_id, amount_nano_usd, fee_nano_usd, received_at FROM billing.allocations`);

    await q.query(`CREATE SCHEMA bi`);
    await q.query(`CREATE VIEW bi.journal_entries AS ${entries}`);
    await q.query(`CREATE VIEW bi.balances AS SELECT * FROM gateway.billing_balances`);
    await q.query(`CREATE VIEW bi.holds AS SELECT * FROM gateway.billing_holds`);
    await q.query(`CREATE VIEW bi.allocations AS
      SELECT allocation_id, job_id, customer_id, provider_id, offer_id, instrument, region, quantity_micro, effective_nano_usd,
             amount_nano_usd, fee_nano_usd, matched_at FROM matching.allocations`);
    // Roles belong to the cluster, not the database: created once, granted per database.
    await q.query(`DO $$ BEGIN
      IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'spotgrid_bi') THEN
        CREATE ROLE spotgrid_bi NOLOGIN;
      END IF;
    END $$`);
    await q.query(`GRANT USAGE ON SCHEMA bi TO spotgrid_bi`);
    await q.query(`GRANT SELECT ON ALL TABLES IN SCHEMA bi TO spotgrid_bi`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`REVOKE ALL ON ALL TABLES IN SCHEMA bi FROM spotgrid_bi`);
    await q.query(`REVOKE USAGE ON SCHEMA bi FROM spotgrid_bi`);
    await q.query(`DROP SCHEMA bi CASCADE`);
    for (const v of ['billing_allocations', 'billing_holds', 'billing_balances', 'billing_entries']) await q.query(`DROP VIEW gateway.${v}`);
  }
}
