import type { MigrationInterface, QueryRunner } from 'typeorm';
import { CHECK_TRANSACTION } from './1764220000000-journal-checks-per-transaction.js';
import { replaceOnce } from './1764290000000-journal-references-on-transactions.js';

/**
 * A usage sub-ledger (docs/decisions/0008-ledger.md, "A usage sub-ledger"). Each usage event was
 * one journal transaction of six entries: a transaction row with seven indexes and six entry rows
 * with three each, per event. That was most of PostgreSQL's work in bench:ledger, and more than
 * 20,000 events/s leave on two cores.
 *
 * Now the usage of one allocation that billing posts together is one journal transaction whose
 * lines are the sums of each event's own (each event priced and rounded alone, so the journal
 * holds exactly the money per account, kind, job and allocation it did before). Each event keeps a
 * row of its own here: its id (the dedupe key), the journal transaction it is in and its three
 * amounts. With the transaction's references, that is its whole posting: a redelivery is compared
 * with it (the same id posting otherwise is a conflict, as before), with no hash to compute.
 *
 * The database keeps the rules for these rows as it does for the entries:
 * - append-only (no UPDATE, DELETE or TRUNCATE);
 * - written with their transaction, never added to one posted earlier, and only to usage;
 * - a transaction's usage rows sum, per kind, to its customer's lines.
 *
 * Usage already posted gets its row from its transaction, so a redelivery of it stays a duplicate.
 */
export class UsageSubLedger1764300000000 implements MigrationInterface {
  name = 'UsageSubLedger1764300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE billing.usage_postings (
        usage_id text NOT NULL,
        tx_id bigint NOT NULL,
        compute_nano_usd bigint NOT NULL,
        energy_nano_usd bigint NOT NULL,
        fee_nano_usd bigint NOT NULL,
        CONSTRAINT "PK_billing_usage_postings" PRIMARY KEY (usage_id)
      )`);
    await q.query(`CREATE INDEX usage_postings_tx_idx ON billing.usage_postings (tx_id)`);
    await q.query(`
      INSERT INTO billing.usage_postings (usage_id, tx_id, compute_nano_usd, energy_nano_usd, fee_nano_usd)
      SELECT t.refs->>'usageId', t.tx_id,
             coalesce(sum(e.amount) FILTER (WHERE e.kind = 'compute'), 0),
             coalesce(sum(e.amount) FILTER (WHERE e.kind = 'energy'), 0),
             coalesce(sum(e.amount) FILTER (WHERE e.kind = 'fee'), 0)
        FROM billing.transactions t LEFT JOIN billing.entries e ON e.tx_id = t.tx_id AND e.account_id LIKE 'customer:%'
       WHERE t.kind = 'usage'
       GROUP BY t.tx_id`);

    await q.query(`CREATE TRIGGER usage_postings_append_only BEFORE UPDATE OR DELETE ON billing.usage_postings FOR EACH ROW EXECUTE FUNCTION billing.refuse_mutation()`);
    await q.query(`CREATE TRIGGER usage_postings_no_truncate BEFORE TRUNCATE ON billing.usage_postings FOR EACH STATEMENT EXECUTE FUNCTION billing.refuse_mutation()`);
    await q.query(CHECK_USAGE_POSTINGS);
    await q.query(`CREATE TRIGGER usage_postings_checked AFTER INSERT ON billing.usage_postings
      REFERENCING NEW TABLE AS new_usage FOR EACH STATEMENT EXECUTE FUNCTION billing.check_usage_postings()`);
    await q.query(checkTransaction(USAGE_HAS_EVENTS));

    // Finance and BI: each event with its transaction's references and time.
    const usage = `SELECT u.usage_id, u.tx_id, t.idempotency_key, t.refs->>'allocationId' AS allocation_id, t.job_id, t.customer_id, t.provider_id,
             u.compute_nano_usd, u.energy_nano_usd, u.fee_nano_usd, u.compute_nano_usd + u.energy_nano_usd + u.fee_nano_usd AS charged_nano_usd, t.posted_at
        FROM billing.usage_postings u JOIN billing.transactions t USING (tx_id)`;
    await q.query(`CREATE VIEW gateway.billing_usage AS ${usage}`);
    await q.query(`CREATE VIEW bi.usage_postings AS ${usage}`);
    await q.query(`GRANT SELECT ON bi.usage_postings TO spotgrid_bi`);
  }

  async down(q: QueryRunner): Promise<void> {
    // Posted batches have no one-transaction-per-event form to go back to without rewriting the journal.
    const [batched]: { n: number }[] = await q.query(`SELECT count(*)::int AS n FROM (SELECT 1 FROM billing.usage_postings GROUP BY tx_id HAVING count(*) > 1) b`);
    if ((batched?.n ?? 0) > 0) throw new Error(`${batched?.n} journal transactions post several usage events each; the usage sub-ledger cannot be removed`);
    await q.query(checkTransaction(''));
    await q.query(`DROP VIEW bi.usage_postings`);
    await q.query(`DROP VIEW gateway.billing_usage`);
    await q.query(`DROP TABLE billing.usage_postings`);
    await q.query(`DROP FUNCTION billing.check_usage_postings()`);
  }
}

/**
 * One query per statement, whatever its size: the transactions its rows name, then the sums of
 * those transactions' usage rows against their customer lines (both read through their tx_id
 * indexes). The entries come first, so the rows are written after them.
 */
const CHECK_USAGE_POSTINGS = `
  CREATE FUNCTION billing.check_usage_postings() RETURNS trigger LANGUAGE plpgsql AS $$
  DECLARE
    bad record;
  BEGIN
    -- xmin of a row is the database transaction that wrote it: usage joins only a transaction written by this one.
    SELECT n.tx_id, t.tx_id IS NULL AS missing, t.kind INTO bad
      FROM (SELECT DISTINCT tx_id FROM new_usage) n LEFT JOIN billing.transactions t USING (tx_id)
     WHERE t.tx_id IS NULL OR t.kind <> 'usage' OR t.xmin::text::bigint <> txid_current() % 4294967296
     LIMIT 1;
    IF FOUND THEN
      IF bad.missing THEN
        RAISE EXCEPTION 'usage refers to transaction %, which does not exist', bad.tx_id USING ERRCODE = 'foreign_key_violation';
      ELSIF bad.kind <> 'usage' THEN
        RAISE EXCEPTION 'transaction % is a %, not usage', bad.tx_id, bad.kind USING ERRCODE = 'check_violation';
      END IF;
      RAISE EXCEPTION 'usage can only be written with its transaction, never added to one already posted' USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    SELECT u.tx_id, u.compute, u.energy, u.fee, j.compute AS j_compute, j.energy AS j_energy, j.fee AS j_fee INTO bad
      FROM (SELECT tx_id, sum(compute_nano_usd) AS compute, sum(energy_nano_usd) AS energy, sum(fee_nano_usd) AS fee
              FROM billing.usage_postings WHERE tx_id IN (SELECT tx_id FROM new_usage) GROUP BY tx_id) u
      CROSS JOIN LATERAL (
        SELECT coalesce(sum(e.amount) FILTER (WHERE e.kind = 'compute'), 0) AS compute,
               coalesce(sum(e.amount) FILTER (WHERE e.kind = 'energy'), 0) AS energy,
               coalesce(sum(e.amount) FILTER (WHERE e.kind = 'fee'), 0) AS fee
          FROM billing.entries e WHERE e.tx_id = u.tx_id AND e.account_id LIKE 'customer:%') j
     WHERE (u.compute, u.energy, u.fee) IS DISTINCT FROM (j.compute, j.energy, j.fee)
     LIMIT 1;
    IF FOUND THEN
      RAISE EXCEPTION 'the usage of transaction % sums to compute %, energy %, fee %; its customer lines to %, %, %',
        bad.tx_id, bad.compute, bad.energy, bad.fee, bad.j_compute, bad.j_energy, bad.j_fee USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
  END $$`;

/** At commit, with the zero-sum check: a usage transaction posts at least one usage event. */
const USAGE_HAS_EVENTS = `
        IF NEW.kind = 'usage' AND NOT EXISTS (SELECT 1 FROM billing.usage_postings WHERE tx_id = NEW.tx_id) THEN
          RAISE EXCEPTION 'usage transaction % posts no usage event', NEW.tx_id USING ERRCODE = 'check_violation';
        END IF;`;

/** JournalChecksPerTransaction1764220000000's deferred check of each transaction, with `more` before it returns. */
function checkTransaction(more: string): string {
  const replacing = replaceOnce(CHECK_TRANSACTION, 'CREATE FUNCTION', 'CREATE OR REPLACE FUNCTION');
  return replaceOnce(replacing, '        RETURN NULL;\n      END $$', `${more}\n        RETURN NULL;\n      END $$`);
}
