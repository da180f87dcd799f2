import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The journal's zero-sum rule, checked once per transaction instead of once per entry: the
 * deferred check moves from each entry row (six sums of the same transaction) to the transaction
 * row (one), which also finds a transaction without entries. What the per-entry check also
 * caught, entries added later to a transaction already committed, a statement-level check now
 * refuses outright: a transaction's entries are written with the transaction, in the same
 * database transaction, or not at all. Still at commit, still whatever the writer does.
 */
export class JournalChecksPerTransaction1764220000000 implements MigrationInterface {
  name = 'JournalChecksPerTransaction1764220000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER entries_zero_sum ON billing.entries`);
    await q.query(`DROP TRIGGER transactions_have_entries ON billing.transactions`);
    await q.query(`DROP FUNCTION billing.check_zero_sum()`);
    await q.query(`DROP FUNCTION billing.check_has_entries()`);
    await q.query(CHECK_TRANSACTION);
    await q.query(`CREATE CONSTRAINT TRIGGER transactions_balance AFTER INSERT ON billing.transactions
      DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION billing.check_transaction()`);
    await q.query(`
      CREATE FUNCTION billing.refuse_late_entries() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        -- xmin of a row is the database transaction that wrote it: entries join only a transaction row written by this one.
        IF EXISTS (SELECT 1 FROM new_entries n JOIN billing.transactions t USING (tx_id) WHERE t.xmin::text::bigint <> txid_current() % 4294967296) THEN
          RAISE EXCEPTION 'entries can only be written with their transaction, never added to one already posted'
            USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        RETURN NULL;
      END $$`);
    await q.query(`CREATE TRIGGER entries_with_their_transaction AFTER INSERT ON billing.entries
      REFERENCING NEW TABLE AS new_entries FOR EACH STATEMENT EXECUTE FUNCTION billing.refuse_late_entries()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER entries_with_their_transaction ON billing.entries`);
    await q.query(`DROP FUNCTION billing.refuse_late_entries()`);
    await q.query(`DROP TRIGGER transactions_balance ON billing.transactions`);
    await q.query(`DROP FUNCTION billing.check_transaction()`);
    await q.query(`
      CREATE FUNCTION billing.check_zero_sum() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE bad record;
      BEGIN
        SELECT asset, sum(amount) AS total INTO bad FROM billing.entries WHERE tx_id = NEW.tx_id GROUP BY asset HAVING sum(amount) <> 0 LIMIT 1;
        IF FOUND THEN
          RAISE EXCEPTION 'transaction % does not balance: its % entries sum to %', NEW.tx_id, bad.asset, bad.total USING ERRCODE = 'check_violation';
        END IF;
        RETURN NULL;
      END $$`);
    await q.query(`CREATE CONSTRAINT TRIGGER entries_zero_sum AFTER INSERT ON billing.entries
      DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION billing.check_zero_sum()`);
    await q.query(`
      CREATE FUNCTION billing.check_has_entries() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NOT EXISTS (SELECT 1 FROM billing.entries WHERE tx_id = NEW.tx_id) THEN
          RAISE EXCEPTION 'transaction % has no entries', NEW.tx_id USING ERRCODE = 'check_violation';
        END IF;
        RETURN NULL;
      END $$`);
    await q.query(`CREATE CONSTRAINT TRIGGER transactions_have_entries AFTER INSERT ON billing.transactions
      DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION billing.check_has_entries()`);
  }
}

/** The deferred check of each transaction (later migrations extend it). */
export const CHECK_TRANSACTION = `
      CREATE FUNCTION billing.check_transaction() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        entries integer := 0;
        bad record;
      BEGIN
        FOR bad IN SELECT asset, sum(amount) AS total, count(*) AS n FROM billing.entries WHERE tx_id = NEW.tx_id GROUP BY asset LOOP
          entries := entries + bad.n;
          IF bad.total <> 0 THEN
            RAISE EXCEPTION 'transaction % does not balance: its % entries sum to %', NEW.tx_id, bad.asset, bad.total
              USING ERRCODE = 'check_violation';
          END IF;
        END LOOP;
        IF entries = 0 THEN
          RAISE EXCEPTION 'transaction % has no entries', NEW.tx_id USING ERRCODE = 'check_violation';
        END IF;
        RETURN NULL;
      END $$`;
