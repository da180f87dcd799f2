import type { MigrationInterface, QueryRunner } from 'typeorm';
import { CHECK_ENTRY_REFERENCES_WITH_INVOICES, INVOICE_CHARGES } from './1764280000000-invoice-at-posting.js';

/**
 * A transaction's references (customer, provider, job, allocation, usage) were copied onto each of
 * its entries, and the entries had an index on each of customer, provider and job. So a usage
 * event's six entries wrote thirty copies of five values and eighteen index tuples for three.
 * In bench:ledger that was about a third of PostgreSQL's time per event.
 *
 * The references now live on the transaction only: `refs` as before, plus columns for the three
 * that finance filters by, indexed there and kept equal to `refs` by a check. The entries lose
 * their copies. Everything that read them (the finance and BI views, the invoice charges, the
 * references trigger) takes them, and the posting time, from the transaction. The posting time is
 * the same on both, because both default to `now()` in the one database transaction.
 */
export class JournalReferencesOnTransactions1764290000000 implements MigrationInterface {
  name = 'JournalReferencesOnTransactions1764290000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE billing.transactions ADD COLUMN customer_id text, ADD COLUMN provider_id text, ADD COLUMN job_id text`);
    // The journal is append-only; filling the new columns from what each row already says is the exception.
    await q.query(`ALTER TABLE billing.transactions DISABLE TRIGGER transactions_append_only`);
    await q.query(`UPDATE billing.transactions SET customer_id = refs->>'customerId', provider_id = refs->>'providerId', job_id = refs->>'jobId'`);
    await q.query(`ALTER TABLE billing.transactions ENABLE TRIGGER transactions_append_only`);
    await q.query(`ALTER TABLE billing.transactions ADD CONSTRAINT transactions_refs_columns_check CHECK (${REFS_CHECK})`);
    await q.query(`CREATE INDEX transactions_customer_idx ON billing.transactions (customer_id, posted_at)`);
    await q.query(`CREATE INDEX transactions_provider_idx ON billing.transactions (provider_id, posted_at)`);
    await q.query(`CREATE INDEX transactions_job_idx ON billing.transactions (job_id)`);

    await this.entriesViews(q, ENTRY_REFS_FROM_TRANSACTION);
    await q.query(`CREATE OR REPLACE VIEW gateway.billing_invoice_charges AS ${INVOICE_CHARGES_FROM_TRANSACTION}`);
    await q.query(CHECK_ENTRY_REFERENCES_FROM_TRANSACTION);
    await q.query(`ALTER TABLE billing.entries DROP COLUMN customer_id, DROP COLUMN provider_id, DROP COLUMN job_id, DROP COLUMN allocation_id, DROP COLUMN usage_id`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE billing.entries ADD COLUMN customer_id text, ADD COLUMN provider_id text, ADD COLUMN job_id text, ADD COLUMN allocation_id text, ADD COLUMN usage_id text`);
    await q.query(`ALTER TABLE billing.entries DISABLE TRIGGER entries_append_only`);
    await q.query(`
      UPDATE billing.entries e SET customer_id = t.refs->>'customerId', provider_id = t.refs->>'providerId', job_id = t.refs->>'jobId',
             allocation_id = t.refs->>'allocationId', usage_id = t.refs->>'usageId'
        FROM billing.transactions t WHERE t.tx_id = e.tx_id`);
    await q.query(`ALTER TABLE billing.entries ENABLE TRIGGER entries_append_only`);
    await q.query(`CREATE INDEX entries_customer_idx ON billing.entries (customer_id, posted_at)`);
    await q.query(`CREATE INDEX entries_provider_idx ON billing.entries (provider_id, posted_at)`);
    await q.query(`CREATE INDEX entries_job_idx ON billing.entries (job_id)`);
    await q.query(CHECK_ENTRY_REFERENCES_WITH_INVOICES);
    await q.query(`CREATE OR REPLACE VIEW gateway.billing_invoice_charges AS ${INVOICE_CHARGES}`);
    await this.entriesViews(q, 'e.customer_id, e.provider_id, e.job_id, e.allocation_id, e.usage_id, e.posted_at');
    await q.query(`ALTER TABLE billing.transactions DROP COLUMN customer_id, DROP COLUMN provider_id, DROP COLUMN job_id`);
  }

  /** The finance and BI views of the entries (FinanceViews1764190002000), their references and time taken from `refs`. */
  private async entriesViews(q: QueryRunner, refs: string): Promise<void> {
    const entries = `SELECT e.entry_id, e.tx_id, t.idempotency_key, t.kind AS tx_kind, t.reverses, e.account_id, e.asset, e.amount, e.kind,
             ${refs} AS posted_at
        FROM billing.entries e JOIN billing.transactions t USING (tx_id)`;
    await q.query(`CREATE OR REPLACE VIEW gateway.billing_entries AS ${entries}`);
    await q.query(`CREATE OR REPLACE VIEW bi.journal_entries AS ${entries}`);
  }
}

/** The reference columns say exactly what `refs` says (the entity declares the same check). */
const REFS_CHECK = `customer_id IS NOT DISTINCT FROM refs->>'customerId' AND provider_id IS NOT DISTINCT FROM refs->>'providerId' AND job_id IS NOT DISTINCT FROM refs->>'jobId'`;

const ENTRY_REFS_FROM_TRANSACTION = `t.customer_id, t.provider_id, t.job_id, t.refs->>'allocationId' AS allocation_id, t.refs->>'usageId' AS usage_id, t.posted_at`;

/** InvoiceAtPosting1764280000000's charges, with the customer, job and time of the transaction. */
const INVOICE_CHARGES_FROM_TRANSACTION = `
  SELECT t.invoice_id, t.job_id, e.kind, date_trunc('month', t.posted_at AT TIME ZONE 'UTC')::date AS usage_period,
         sum(e.amount)::bigint AS amount_nano_usd
    FROM billing.transactions t JOIN billing.entries e USING (tx_id)
   WHERE t.invoice_id IS NOT NULL AND e.account_id LIKE 'customer:%' AND t.customer_id IS NOT NULL
   GROUP BY t.invoice_id, t.job_id, e.kind, date_trunc('month', t.posted_at AT TIME ZONE 'UTC')::date`;

/**
 * InvoiceAtPosting1764280000000's references check, unchanged but for where a charge's customer
 * comes from: an entry is a charge when it is a customer account's and its transaction names a
 * customer.
 */
const CHECK_ENTRY_REFERENCES_FROM_TRANSACTION = replaceOnce(
  replaceOnce(CHECK_ENTRY_REFERENCES_WITH_INVOICES, `bool_or(account_id LIKE 'customer:%' AND customer_id IS NOT NULL) AS charges`, `bool_or(account_id LIKE 'customer:%') AS charges`),
  `OR (t.invoice_id IS NULL AND n.charges AND t.kind IN ('usage', 'reversal'))`,
  `OR (t.invoice_id IS NULL AND n.charges AND t.customer_id IS NOT NULL AND t.kind IN ('usage', 'reversal'))`,
);

export function replaceOnce(text: string, from: string, to: string): string {
  const at = text.indexOf(from);
  if (at === -1 || text.indexOf(from, at + 1) !== -1) throw new Error(`migration text: expected exactly one ${from}`);
  return text.slice(0, at) + to + text.slice(at + from.length);
}
