import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A charge's invoice is decided when it is posted, and written on its transaction
 * (`transactions.invoice_id`), instead of queued per entry and given out by a sweep. Each usage
 * event has three customer entries: the queue wrote each of them three more times (queued,
 * deleted from the queue, given to an invoice), about a third of PostgreSQL's time in
 * bench:ledger. A transaction's charges are all its customer's and all posted at one instant, so
 * they always went to one invoice; now they are given together, in the row that is written anyway.
 *
 * The rules are the same and the database still keeps them, once per entries statement (in the
 * trigger that checks references): a usage or reversal transaction with customer charges names an
 * invoice; the invoice exists, is its customer's and is not final; no other kind of transaction
 * names one. Postings decide under a shared advisory lock that closing an invoice takes
 * exclusively, so a charge never lands on an invoice while it is being closed.
 */
export class InvoiceAtPosting1764280000000 implements MigrationInterface {
  name = 'InvoiceAtPosting1764280000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE billing.transactions ADD COLUMN invoice_id text`);
    // The journal is append-only; this one-time copy of what was already given is the exception.
    await q.query(`ALTER TABLE billing.transactions DISABLE TRIGGER transactions_append_only`);
    await q.query(`
      UPDATE billing.transactions t SET invoice_id = g.invoice_id
        FROM (SELECT DISTINCT e.tx_id, ie.invoice_id FROM billing.invoice_entries ie JOIN billing.entries e USING (entry_id)) g
       WHERE t.tx_id = g.tx_id`);
    // Charges still queued go where the sweep would have put them: their month's invoice, or the
    // first later one that is not final.
    await q.query(`
      DO $$
      DECLARE
        r record;
        p date;
      BEGIN
        FOR r IN SELECT DISTINCT e.tx_id, u.customer_id, date_trunc('month', u.posted_at AT TIME ZONE 'UTC')::date AS period
                   FROM billing.uninvoiced u JOIN billing.entries e USING (entry_id) ORDER BY e.tx_id LOOP
          p := r.period;
          WHILE EXISTS (SELECT 1 FROM billing.invoices WHERE customer_id = r.customer_id AND period = p AND status = 'final') LOOP
            p := (p + interval '1 month')::date;
          END LOOP;
          INSERT INTO billing.invoices (invoice_id, customer_id, period)
          VALUES ('inv:' || r.customer_id || ':' || to_char(p, 'YYYY-MM'), r.customer_id, p) ON CONFLICT (invoice_id) DO NOTHING;
          UPDATE billing.transactions SET invoice_id = 'inv:' || r.customer_id || ':' || to_char(p, 'YYYY-MM') WHERE tx_id = r.tx_id;
        END LOOP;
      END $$`);
    await q.query(`ALTER TABLE billing.transactions ENABLE TRIGGER transactions_append_only`);
    await q.query(`CREATE INDEX transactions_invoice_idx ON billing.transactions (invoice_id) WHERE invoice_id IS NOT NULL`);

    await q.query(`DROP VIEW gateway.billing_invoice_charges`);
    await q.query(`DROP TRIGGER entries_queue_charges ON billing.entries`);
    await q.query(`DROP FUNCTION billing.queue_charges()`);
    await q.query(`DROP TABLE billing.uninvoiced`);
    await q.query(`DROP TABLE billing.invoice_entries`);
    await q.query(`DROP FUNCTION billing.check_invoice_entries()`);
    await q.query(`CREATE VIEW gateway.billing_invoice_charges AS ${INVOICE_CHARGES}`);
    await q.query(CHECK_ENTRY_REFERENCES_WITH_INVOICES);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(CHECK_ENTRY_REFERENCES);
    await q.query(`DROP VIEW gateway.billing_invoice_charges`);
    await q.query(`
      CREATE TABLE billing.invoice_entries (
        entry_id bigint NOT NULL,
        invoice_id text NOT NULL,
        CONSTRAINT "PK_billing_invoice_entries" PRIMARY KEY (entry_id)
      )`);
    await q.query(`CREATE INDEX invoice_entries_invoice_idx ON billing.invoice_entries (invoice_id)`);
    await q.query(`
      INSERT INTO billing.invoice_entries (entry_id, invoice_id)
      SELECT e.entry_id, t.invoice_id FROM billing.transactions t JOIN billing.entries e USING (tx_id)
       WHERE t.invoice_id IS NOT NULL AND e.account_id LIKE 'customer:%' AND e.customer_id IS NOT NULL`);
    await q.query(`CREATE TRIGGER invoice_entries_immutable BEFORE UPDATE OR DELETE ON billing.invoice_entries
      FOR EACH ROW EXECUTE FUNCTION billing.refuse_invoice_change()`);
    await q.query(`CREATE TRIGGER invoice_entries_no_truncate BEFORE TRUNCATE ON billing.invoice_entries
      FOR EACH STATEMENT EXECUTE FUNCTION billing.refuse_invoice_change()`);
    await q.query(`
      CREATE FUNCTION billing.check_invoice_entries() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        bad record;
      BEGIN
        SELECT n.invoice_id, i.status INTO bad
          FROM (SELECT DISTINCT invoice_id FROM new_rows) n LEFT JOIN billing.invoices i USING (invoice_id)
         WHERE i.invoice_id IS NULL OR i.status = 'final'
         LIMIT 1;
        IF FOUND AND bad.status IS NULL THEN
          RAISE EXCEPTION 'charges refer to invoice %, which does not exist', bad.invoice_id USING ERRCODE = 'foreign_key_violation';
        END IF;
        IF FOUND THEN
          RAISE EXCEPTION 'invoice % is final', bad.invoice_id USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        SELECT n.entry_id INTO bad
          FROM new_rows n
         WHERE NOT EXISTS (SELECT 1 FROM billing.entries e WHERE e.entry_id = n.entry_id)
         LIMIT 1;
        IF FOUND THEN
          RAISE EXCEPTION 'charges refer to entry %, which does not exist', bad.entry_id USING ERRCODE = 'foreign_key_violation';
        END IF;
        RETURN NULL;
      END $$`);
    await q.query(`CREATE TRIGGER invoice_entries_checked AFTER INSERT ON billing.invoice_entries
      REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION billing.check_invoice_entries()`);
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
    await q.query(`CREATE VIEW gateway.billing_invoice_charges AS
      SELECT ie.invoice_id, e.job_id, e.kind, date_trunc('month', e.posted_at AT TIME ZONE 'UTC')::date AS usage_period,
             sum(e.amount)::bigint AS amount_nano_usd
        FROM billing.invoice_entries ie JOIN billing.entries e USING (entry_id)
       GROUP BY ie.invoice_id, e.job_id, e.kind, date_trunc('month', e.posted_at AT TIME ZONE 'UTC')::date`);
    await q.query(`DROP INDEX billing.transactions_invoice_idx`);
    await q.query(`ALTER TABLE billing.transactions DROP COLUMN invoice_id`);
  }
}

/** A customer's charges: the customer's own entries of usage and reversal transactions. */
export const INVOICE_CHARGES = `
  SELECT t.invoice_id, e.job_id, e.kind, date_trunc('month', e.posted_at AT TIME ZONE 'UTC')::date AS usage_period,
         sum(e.amount)::bigint AS amount_nano_usd
    FROM billing.transactions t JOIN billing.entries e USING (tx_id)
   WHERE t.invoice_id IS NOT NULL AND e.account_id LIKE 'customer:%' AND e.customer_id IS NOT NULL
   GROUP BY t.invoice_id, e.job_id, e.kind, date_trunc('month', e.posted_at AT TIME ZONE 'UTC')::date`;

/** Both versions of the references check end the same way: every account and asset of the statement exists. */
const ACCOUNTS_AND_ASSETS_EXIST = `
    SELECT n.account_id INTO bad
      FROM (SELECT DISTINCT account_id FROM new_entries) n
     WHERE NOT EXISTS (SELECT 1 FROM billing.accounts a WHERE a.account_id = n.account_id)
     LIMIT 1;
    IF FOUND THEN
      RAISE EXCEPTION 'entries refer to account %, which does not exist', bad.account_id USING ERRCODE = 'foreign_key_violation';
    END IF;
    SELECT n.asset INTO bad
      FROM (SELECT DISTINCT asset FROM new_entries) n
     WHERE NOT EXISTS (SELECT 1 FROM billing.assets a WHERE a.code = n.asset)
     LIMIT 1;
    IF FOUND THEN
      RAISE EXCEPTION 'entries are in asset %, which does not exist', bad.asset USING ERRCODE = 'foreign_key_violation';
    END IF;`;

/**
 * The references check of 1764260000000, with the invoice rules added to its look-up of the
 * statement's transactions: one pass over them, one probe per distinct invoice.
 */
export const CHECK_ENTRY_REFERENCES_WITH_INVOICES = `
  CREATE OR REPLACE FUNCTION billing.check_entry_references() RETURNS trigger LANGUAGE plpgsql AS $$
  DECLARE
    bad record;
  BEGIN
    -- xmin of a row is the database transaction that wrote it: entries join only a transaction row written by this one.
    SELECT n.tx_id, t.tx_id IS NULL AS missing, t.xmin::text::bigint <> txid_current() % 4294967296 AS late,
           t.invoice_id, t.kind, n.charges, i.invoice_id IS NULL AS no_invoice, i.status, i.customer_id AS invoice_customer,
           t.refs->>'customerId' AS customer INTO bad
      FROM (SELECT tx_id, bool_or(account_id LIKE 'customer:%' AND customer_id IS NOT NULL) AS charges FROM new_entries GROUP BY tx_id) n
      LEFT JOIN billing.transactions t USING (tx_id)
      LEFT JOIN billing.invoices i ON i.invoice_id = t.invoice_id
     WHERE t.tx_id IS NULL
        OR t.xmin::text::bigint <> txid_current() % 4294967296
        OR (t.invoice_id IS NULL AND n.charges AND t.kind IN ('usage', 'reversal'))
        OR (t.invoice_id IS NOT NULL AND (t.kind NOT IN ('usage', 'reversal') OR i.invoice_id IS NULL OR i.status = 'final'
                                          OR i.customer_id IS DISTINCT FROM t.refs->>'customerId'))
     LIMIT 1;
    IF FOUND THEN
      IF bad.missing THEN
        RAISE EXCEPTION 'entries refer to transaction %, which does not exist', bad.tx_id USING ERRCODE = 'foreign_key_violation';
      ELSIF bad.late THEN
        RAISE EXCEPTION 'entries can only be written with their transaction, never added to one already posted'
          USING ERRCODE = 'integrity_constraint_violation';
      ELSIF bad.invoice_id IS NULL THEN
        RAISE EXCEPTION 'transaction % charges customer % but names no invoice', bad.tx_id, bad.customer USING ERRCODE = 'not_null_violation';
      ELSIF bad.kind NOT IN ('usage', 'reversal') THEN
        RAISE EXCEPTION 'transaction % is a %, not a charge, and cannot be on invoice %', bad.tx_id, bad.kind, bad.invoice_id
          USING ERRCODE = 'check_violation';
      ELSIF bad.no_invoice THEN
        RAISE EXCEPTION 'transaction % refers to invoice %, which does not exist', bad.tx_id, bad.invoice_id USING ERRCODE = 'foreign_key_violation';
      ELSIF bad.status = 'final' THEN
        RAISE EXCEPTION 'invoice % is final', bad.invoice_id USING ERRCODE = 'integrity_constraint_violation';
      ELSE
        RAISE EXCEPTION 'transaction % charges customer %, but invoice % is customer %''s', bad.tx_id, bad.customer, bad.invoice_id, bad.invoice_customer
          USING ERRCODE = 'check_violation';
      END IF;
    END IF;
${ACCOUNTS_AND_ASSETS_EXIST}
    RETURN NULL;
  END $$`;

/** The check as 1764260000000 made it, for `down`. */
const CHECK_ENTRY_REFERENCES = `
  CREATE OR REPLACE FUNCTION billing.check_entry_references() RETURNS trigger LANGUAGE plpgsql AS $$
  DECLARE
    bad record;
  BEGIN
    -- xmin of a row is the database transaction that wrote it: entries join only a transaction row written by this one.
    SELECT n.tx_id, t.tx_id IS NULL AS missing INTO bad
      FROM (SELECT DISTINCT tx_id FROM new_entries) n LEFT JOIN billing.transactions t USING (tx_id)
     WHERE t.tx_id IS NULL OR t.xmin::text::bigint <> txid_current() % 4294967296
     LIMIT 1;
    IF FOUND AND bad.missing THEN
      RAISE EXCEPTION 'entries refer to transaction %, which does not exist', bad.tx_id USING ERRCODE = 'foreign_key_violation';
    END IF;
    IF FOUND THEN
      RAISE EXCEPTION 'entries can only be written with their transaction, never added to one already posted'
        USING ERRCODE = 'integrity_constraint_violation';
    END IF;
${ACCOUNTS_AND_ASSETS_EXIST}
    RETURN NULL;
  END $$`;
