import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Invoices: one per customer per calendar month (UTC). Every charge in the journal (a customer's
 * usage entries and their reversals) is given to exactly one invoice: its month's while that is a
 * draft, else the first later one that is (a prior-period line there). A draft is final once its
 * grace period ends, or when finance closes it early; from then on the database refuses any
 * change to it, to its lines and to what was given to it.
 */
export class Invoices1764210000000 implements MigrationInterface {
  name = 'Invoices1764210000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE billing.invoices (
        invoice_id text NOT NULL,
        customer_id text NOT NULL,
        period date NOT NULL,
        status text NOT NULL DEFAULT 'draft',
        total_minor bigint,
        exact_nano_usd bigint,
        rounding_nano_usd bigint,
        finalized_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "PK_billing_invoices" PRIMARY KEY (invoice_id),
        CONSTRAINT invoices_customer_period_unique UNIQUE (customer_id, period),
        CONSTRAINT invoices_status_check CHECK (status IN ('draft', 'final')),
        CONSTRAINT invoices_period_check CHECK (extract(day FROM period) = 1)
      )`);
    await q.query(`
      CREATE TABLE billing.invoice_entries (
        entry_id bigint NOT NULL,
        invoice_id text NOT NULL,
        CONSTRAINT "PK_billing_invoice_entries" PRIMARY KEY (entry_id),
        CONSTRAINT "FK_billing_invoice_entries_entry" FOREIGN KEY (entry_id) REFERENCES billing.entries (entry_id),
        CONSTRAINT "FK_billing_invoice_entries_invoice" FOREIGN KEY (invoice_id) REFERENCES billing.invoices (invoice_id)
      )`);
    await q.query(`CREATE INDEX invoice_entries_invoice_idx ON billing.invoice_entries (invoice_id)`);
    // Charges not on an invoice yet, queued as they are posted (a statement trigger on the
    // journal), so giving them out reads what is new instead of scanning the journal.
    await q.query(`
      CREATE TABLE billing.uninvoiced (
        entry_id bigint NOT NULL,
        customer_id text NOT NULL,
        posted_at timestamptz NOT NULL,
        CONSTRAINT "PK_billing_uninvoiced" PRIMARY KEY (entry_id)
      )`);
    await q.query(`
      CREATE FUNCTION billing.queue_charges() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO billing.uninvoiced (entry_id, customer_id, posted_at)
        SELECT n.entry_id, n.customer_id, n.posted_at FROM new_entries n JOIN billing.transactions t USING (tx_id)
         WHERE n.account_id LIKE 'customer:%' AND n.customer_id IS NOT NULL AND t.kind IN ('usage', 'reversal');
        RETURN NULL;
      END $$`);
    await q.query(`CREATE TRIGGER entries_queue_charges AFTER INSERT ON billing.entries
      REFERENCING NEW TABLE AS new_entries FOR EACH STATEMENT EXECUTE FUNCTION billing.queue_charges()`);
    await q.query(`
      INSERT INTO billing.uninvoiced (entry_id, customer_id, posted_at)
      SELECT e.entry_id, e.customer_id, e.posted_at FROM billing.entries e JOIN billing.transactions t USING (tx_id)
       WHERE e.account_id LIKE 'customer:%' AND e.customer_id IS NOT NULL AND t.kind IN ('usage', 'reversal')`);
    await q.query(`
      CREATE TABLE billing.invoice_lines (
        invoice_id text NOT NULL,
        line_no integer NOT NULL,
        job_id text,
        kind text NOT NULL,
        usage_period date NOT NULL,
        prior_period boolean NOT NULL,
        description text NOT NULL,
        amount_nano_usd bigint NOT NULL,
        amount_minor bigint NOT NULL,
        CONSTRAINT "PK_billing_invoice_lines" PRIMARY KEY (invoice_id, line_no),
        CONSTRAINT "FK_billing_invoice_lines_invoice" FOREIGN KEY (invoice_id) REFERENCES billing.invoices (invoice_id)
      )`);

    // A final invoice never changes: not its row, not its lines, not what was given to it.
    await q.query(`
      CREATE FUNCTION billing.refuse_invoice_change() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'DELETE' OR TG_OP = 'TRUNCATE' THEN
          RAISE EXCEPTION 'billing.%: invoices are never deleted', TG_TABLE_NAME USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        IF TG_TABLE_NAME = 'invoices' THEN
          IF TG_OP = 'UPDATE' AND OLD.status = 'final' THEN
            RAISE EXCEPTION 'invoice % is final', OLD.invoice_id USING ERRCODE = 'integrity_constraint_violation';
          END IF;
          RETURN NEW;
        END IF;
        IF TG_OP = 'UPDATE' THEN
          RAISE EXCEPTION 'billing.%: rows are never updated', TG_TABLE_NAME USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        IF EXISTS (SELECT 1 FROM billing.invoices WHERE invoice_id = NEW.invoice_id AND status = 'final') THEN
          RAISE EXCEPTION 'invoice % is final', NEW.invoice_id USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        RETURN NEW;
      END $$`);
    for (const table of ['invoices', 'invoice_entries', 'invoice_lines']) {
      await q.query(`CREATE TRIGGER ${table}_immutable BEFORE INSERT OR UPDATE OR DELETE ON billing.${table} FOR EACH ROW EXECUTE FUNCTION billing.refuse_invoice_change()`);
      await q.query(`CREATE TRIGGER ${table}_no_truncate BEFORE TRUNCATE ON billing.${table} FOR EACH STATEMENT EXECUTE FUNCTION billing.refuse_invoice_change()`);
    }

    // What the gateway's finance routes read: invoices, their charges by line (stored once final,
    // computed while draft), and provider payouts by month.
    await q.query(`CREATE VIEW gateway.billing_invoices AS
      SELECT invoice_id, customer_id, period, status, total_minor, exact_nano_usd, rounding_nano_usd, finalized_at, created_at FROM billing.invoices`);
    await q.query(`CREATE VIEW gateway.billing_invoice_lines AS
      SELECT invoice_id, line_no, job_id, kind, usage_period, prior_period, description, amount_nano_usd, amount_minor FROM billing.invoice_lines`);
    await q.query(`CREATE VIEW gateway.billing_invoice_charges AS
      SELECT ie.invoice_id, e.job_id, e.kind, date_trunc('month', e.posted_at AT TIME ZONE 'UTC')::date AS usage_period,
             sum(e.amount)::bigint AS amount_nano_usd
        FROM billing.invoice_entries ie JOIN billing.entries e USING (entry_id)
       GROUP BY ie.invoice_id, e.job_id, e.kind, date_trunc('month', e.posted_at AT TIME ZONE 'UTC')::date`);
    await q.query(`CREATE VIEW bi.invoices AS SELECT * FROM gateway.billing_invoices`);
    await q.query(`CREATE VIEW bi.invoice_lines AS SELECT * FROM gateway.billing_invoice_lines`);
    await q.query(`GRANT SELECT ON bi.invoices, bi.invoice_lines TO spotgrid_bi`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP VIEW bi.invoice_lines, bi.invoices, gateway.billing_invoice_charges, gateway.billing_invoice_lines, gateway.billing_invoices`);
    await q.query(`DROP TRIGGER entries_queue_charges ON billing.entries`);
    await q.query(`DROP FUNCTION billing.queue_charges()`);
    await q.query(`DROP TABLE billing.uninvoiced, billing.invoice_lines, billing.invoice_entries, billing.invoices`);
    await q.query(`DROP FUNCTION billing.refuse_invoice_change()`);
  }
}
