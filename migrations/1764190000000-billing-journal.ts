import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The billing journal, with its rules enforced by the database itself, not only by the code that
 * writes it:
 * - a transaction's entries sum to zero per asset, checked at commit (a deferred constraint
 *   trigger), and a transaction has entries;
 * - transactions and entries are append-only: UPDATE, DELETE and TRUNCATE are refused (a
 *   correction is a reversal, which references its original, at most once);
 * - balances are maintained by the same statement that inserts the entries;
 * - a hold leaves `open` exactly once, and is never deleted.
 */
export class BillingJournal1764190000000 implements MigrationInterface {
  name = 'BillingJournal1764190000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE billing.assets (
        code text NOT NULL,
        scale smallint NOT NULL,
        CONSTRAINT "PK_billing_assets" PRIMARY KEY (code),
        CONSTRAINT assets_scale_check CHECK (scale BETWEEN 0 AND 18)
      )`);
    await q.query(`INSERT INTO billing.assets (code, scale) VALUES ('USD', 9)`);

    await q.query(`
      CREATE TABLE billing.accounts (
        account_id text NOT NULL,
        kind text NOT NULL,
        owner_id text,
        asset text NOT NULL,
        credit_limit bigint NOT NULL DEFAULT 0,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "PK_billing_accounts" PRIMARY KEY (account_id),
        CONSTRAINT accounts_kind_check CHECK (kind IN ('customer', 'provider', 'platform')),
        CONSTRAINT accounts_credit_limit_check CHECK (credit_limit >= 0),
        CONSTRAINT "FK_billing_accounts_asset" FOREIGN KEY (asset) REFERENCES billing.assets (code)
      )`);
    await q.query(`INSERT INTO billing.accounts (account_id, kind, asset) VALUES
      ('platform:fees', 'platform', 'USD'), ('platform:funding', 'platform', 'USD'),
      ('platform:grants', 'platform', 'USD'), ('platform:rounding', 'platform', 'USD')`);

    await q.query(`
      CREATE TABLE billing.transactions (
        tx_id bigserial NOT NULL,
        idempotency_key text NOT NULL,
        request_hash text NOT NULL,
        kind text NOT NULL,
        reverses bigint,
        refs jsonb NOT NULL,
        posted_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "PK_billing_transactions" PRIMARY KEY (tx_id),
        CONSTRAINT transactions_idempotency_key_unique UNIQUE (idempotency_key),
        CONSTRAINT transactions_reverses_unique UNIQUE (reverses),
        CONSTRAINT transactions_kind_check CHECK (kind IN ('usage', 'top-up', 'grant', 'reversal', 'invoice-rounding')),
        CONSTRAINT "FK_billing_transactions_reverses" FOREIGN KEY (reverses) REFERENCES billing.transactions (tx_id)
      )`);

    await q.query(`
      CREATE TABLE billing.entries (
        entry_id bigserial NOT NULL,
        tx_id bigint NOT NULL,
        account_id text NOT NULL,
        asset text NOT NULL,
        amount bigint NOT NULL,
        kind text NOT NULL,
        customer_id text,
        provider_id text,
        job_id text,
        allocation_id text,
        usage_id text,
        posted_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "PK_billing_entries" PRIMARY KEY (entry_id),
        CONSTRAINT "FK_billing_entries_tx" FOREIGN KEY (tx_id) REFERENCES billing.transactions (tx_id),
        CONSTRAINT "FK_billing_entries_account" FOREIGN KEY (account_id) REFERENCES billing.accounts (account_id),
        CONSTRAINT "FK_billing_entries_asset" FOREIGN KEY (asset) REFERENCES billing.assets (code)
      )`);
    await q.query(`CREATE INDEX entries_tx_idx ON billing.entries (tx_id)`);
    await q.query(`CREATE INDEX entries_account_idx ON billing.entries (account_id, entry_id)`);
    await q.query(`CREATE INDEX entries_customer_idx ON billing.entries (customer_id, posted_at)`);
    await q.query(`CREATE INDEX entries_provider_idx ON billing.entries (provider_id, posted_at)`);
    await q.query(`CREATE INDEX entries_job_idx ON billing.entries (job_id)`);

    await q.query(`
      CREATE TABLE billing.balances (
        account_id text NOT NULL,
        asset text NOT NULL,
        balance bigint NOT NULL,
        CONSTRAINT "PK_billing_balances" PRIMARY KEY (account_id, asset)
      )`);

    await q.query(`
      CREATE TABLE billing.holds (
        hold_id text NOT NULL,
        customer_id text NOT NULL,
        job_id text,
        allocation_id text,
        amount bigint NOT NULL,
        status text NOT NULL,
        captured bigint NOT NULL DEFAULT 0,
        settled_by bigint,
        placed_at timestamptz NOT NULL DEFAULT now(),
        resolved_at timestamptz,
        CONSTRAINT "PK_billing_holds" PRIMARY KEY (hold_id),
        CONSTRAINT holds_allocation_unique UNIQUE (allocation_id),
        CONSTRAINT holds_amount_check CHECK (amount >= 0),
        CONSTRAINT holds_status_check CHECK (status IN ('open', 'settled', 'voided', 'expired')),
        CONSTRAINT "FK_billing_holds_settled_by" FOREIGN KEY (settled_by) REFERENCES billing.transactions (tx_id)
      )`);
    await q.query(`CREATE INDEX holds_customer_status_idx ON billing.holds (customer_id, status)`);

    await q.query(`
      CREATE TABLE billing.posting_conflicts (
        conflict_id bigserial NOT NULL,
        idempotency_key text NOT NULL,
        request_hash text NOT NULL,
        existing_hash text NOT NULL,
        source text NOT NULL,
        payload jsonb NOT NULL,
        recorded_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "PK_billing_posting_conflicts" PRIMARY KEY (conflict_id)
      )`);

    // Zero-sum per transaction and asset, at commit: every entry of a transaction is in by then.
    await q.query(`
      CREATE FUNCTION billing.check_zero_sum() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE bad record;
      BEGIN
        SELECT asset, sum(amount) AS total INTO bad FROM billing.entries WHERE tx_id = NEW.tx_id GROUP BY asset HAVING sum(amount) <> 0 LIMIT 1;
        IF FOUND THEN
          RAISE EXCEPTION 'transaction % does not balance: its % entries sum to %', NEW.tx_id, bad.asset, bad.total
            USING ERRCODE = 'check_violation';
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

    // Append-only journal.
    await q.query(`
      CREATE FUNCTION billing.refuse_mutation() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION '%.% is append-only: % refused (post a reversal instead)', TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_OP
          USING ERRCODE = 'insufficient_privilege';
      END $$`);
    for (const t of ['transactions', 'entries']) {
      await q.query(`CREATE TRIGGER ${t}_append_only BEFORE UPDATE OR DELETE ON billing.${t} FOR EACH ROW EXECUTE FUNCTION billing.refuse_mutation()`);
      await q.query(`CREATE TRIGGER ${t}_no_truncate BEFORE TRUNCATE ON billing.${t} FOR EACH STATEMENT EXECUTE FUNCTION billing.refuse_mutation()`);
    }

    // Balances move with the entries, in the same statement.
    await q.query(`
      CREATE FUNCTION billing.apply_to_balances() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO billing.balances AS b (account_id, asset, balance)
        SELECT account_id, asset, sum(amount) FROM new_entries GROUP BY account_id, asset
        ON CONFLICT (account_id, asset) DO UPDATE SET balance = b.balance + excluded.balance;
        RETURN NULL;
      END $$`);
    await q.query(`CREATE TRIGGER entries_balances AFTER INSERT ON billing.entries
      REFERENCING NEW TABLE AS new_entries FOR EACH STATEMENT EXECUTE FUNCTION billing.apply_to_balances()`);

    // A hold resolves once and stays.
    await q.query(`
      CREATE FUNCTION billing.check_hold_transition() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'DELETE' THEN
          RAISE EXCEPTION 'holds are never deleted (hold %)', OLD.hold_id USING ERRCODE = 'insufficient_privilege';
        END IF;
        IF OLD.status <> 'open' THEN
          RAISE EXCEPTION 'hold % is already %', OLD.hold_id, OLD.status USING ERRCODE = 'check_violation';
        END IF;
        IF NEW.status = 'open' OR NEW.hold_id <> OLD.hold_id OR NEW.amount <> OLD.amount OR NEW.customer_id <> OLD.customer_id THEN
          RAISE EXCEPTION 'hold % may only be resolved', OLD.hold_id USING ERRCODE = 'check_violation';
        END IF;
        NEW.resolved_at := now();
        RETURN NEW;
      END $$`);
    await q.query(`CREATE TRIGGER holds_resolve_once BEFORE UPDATE OR DELETE ON billing.holds FOR EACH ROW EXECUTE FUNCTION billing.check_hold_transition()`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of ['posting_conflicts', 'holds', 'balances', 'entries', 'transactions', 'accounts', 'assets']) await q.query(`DROP TABLE billing.${t}`);
    for (const f of ['check_zero_sum', 'check_has_entries', 'refuse_mutation', 'apply_to_balances', 'check_hold_transition']) {
      await q.query(`DROP FUNCTION billing.${f}()`);
    }
  }
}
