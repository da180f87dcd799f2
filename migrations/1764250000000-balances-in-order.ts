import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Balances move in account order. Concurrent postings (one per partition) upsert the same
 * balance rows, the platform's fee account in all of them; rows taken in whatever order the
 * grouping produced could deadlock two postings (seen in bench:ledger: "deadlock detected …
 * while inserting index tuple in relation balances"). Taken in one order, they queue instead.
 */
export class BalancesInOrder1764250000000 implements MigrationInterface {
  name = 'BalancesInOrder1764250000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE OR REPLACE FUNCTION billing.apply_to_balances() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO billing.balances AS b (account_id, asset, balance)
        SELECT account_id, asset, sum(amount) FROM new_entries GROUP BY account_id, asset ORDER BY account_id, asset
        ON CONFLICT (account_id, asset) DO UPDATE SET balance = b.balance + excluded.balance;
        RETURN NULL;
      END $$`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE OR REPLACE FUNCTION billing.apply_to_balances() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO billing.balances AS b (account_id, asset, balance)
        SELECT account_id, asset, sum(amount) FROM new_entries GROUP BY account_id, asset
        ON CONFLICT (account_id, asset) DO UPDATE SET balance = b.balance + excluded.balance;
        RETURN NULL;
      END $$`);
  }
}
