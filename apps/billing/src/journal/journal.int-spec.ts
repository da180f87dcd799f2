import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { DataSource } from 'typeorm';
import { Accounts, reversalOf, topUpTransaction, usageTransaction, type LedgerTransaction } from '#ledger';
import { createDataSource } from '#persistence';
import { loadConfig } from '#platform';
import { usageEvent } from '../usage/usage-event.fixture.js';
import { consumedOf, postUsages, type AllocationPrices } from '../usage/usage-posting.js';
import { postTransaction } from './journal.writer.js';

/** The journal's rules, as the database enforces them: tested with raw SQL, on the real PostgreSQL. */
describe('billing journal (PostgreSQL)', () => {
  let db: DataSource;

  beforeAll(async () => {
    db = await createDataSource(loadConfig(), { applicationName: 'journal-int-spec', entities: [] }).initialize();
  });

  afterAll(async () => {
    await db?.destroy();
  });

  const balance = async (account: string): Promise<bigint> => {
    const rows: { balance: string }[] = await db.query(`SELECT balance FROM billing.balances WHERE account_id = $1 AND asset = 'USD'`, [account]);
    return BigInt(rows[0]?.balance ?? '0');
  };

  /**
   * A raw transaction with the given entry amounts, committed or refused as a whole, one INSERT
   * per entry. `tx`, `account` and `asset` replace what every entry names; with `onlyLast`, only
   * the last one's, and the entries go in as one statement.
   */
  async function raw(amounts: readonly bigint[], wrong: { tx?: string; account?: string; asset?: string; onlyLast?: boolean } = {}): Promise<void> {
    const runner = db.createQueryRunner();
    await runner.connect();
    try {
      await runner.startTransaction();
      const [{ tx_id }] = (await runner.query(`INSERT INTO billing.transactions (idempotency_key, request_hash, kind, refs) VALUES ($1, 'h', 'grant', '{}') RETURNING tx_id`, [randomUUID()])) as [{ tx_id: string }];
      const rows = amounts.map((a, i) => {
        const named = wrong.onlyLast !== true || i === amounts.length - 1;
        return { tx_id: named ? (wrong.tx ?? tx_id) : tx_id, account_id: named ? (wrong.account ?? 'platform:grants') : 'platform:grants', asset: named ? (wrong.asset ?? 'USD') : 'USD', amount: a.toString() };
      });
      if (wrong.onlyLast === true) {
        await runner.query(
          `INSERT INTO billing.entries (tx_id, account_id, asset, amount, kind)
           SELECT tx_id, account_id, asset, amount, 'grant' FROM json_to_recordset($1::json) AS x(tx_id bigint, account_id text, asset text, amount bigint)`,
          [JSON.stringify(rows)],
        );
      } else {
        for (const r of rows) {
          await runner.query(`INSERT INTO billing.entries (tx_id, account_id, asset, amount, kind) VALUES ($1, $2, $3, $4, 'grant')`, [r.tx_id, r.account_id, r.asset, r.amount]);
        }
      }
      await runner.commitTransaction();
    } catch (error) {
      if (runner.isTransactionActive) await runner.rollbackTransaction();
      throw error;
    } finally {
      await runner.release();
    }
  }

  it('refuses at commit a transaction whose entries do not sum to zero, and one with no entries', async () => {
    const before = await db.query(`SELECT count(*)::int AS n FROM billing.transactions`);
    await expect(raw([5n, -4n])).rejects.toThrow(/does not balance/);
    await expect(raw([])).rejects.toThrow(/has no entries/);
    await raw([5n, -5n]);
    const after = await db.query(`SELECT count(*)::int AS n FROM billing.transactions`);
    expect(after[0].n).toBe(before[0].n + 1);
  });

  it('refuses entries added to a transaction already posted, even balanced ones', async () => {
    await raw([7n, -7n]);
    const [{ tx_id }] = (await db.query(`SELECT max(tx_id) AS tx_id FROM billing.transactions WHERE kind = 'grant'`)) as [{ tx_id: string }];
    await expect(
      db.query(`INSERT INTO billing.entries (tx_id, account_id, asset, amount, kind) VALUES ($1, 'platform:grants', 'USD', 1, 'grant'), ($1, 'platform:grants', 'USD', -1, 'grant')`, [tx_id]),
    ).rejects.toThrow(/never added to one already posted/);
  });

  it('refuses entries whose transaction, account or asset does not exist, and nothing of the statement stays', async () => {
    const entries = async () => (await db.query(`SELECT count(*)::int AS n FROM billing.entries`))[0].n as number;
    const before = await entries();
    await expect(raw([5n, -5n], { tx: '-1' })).rejects.toThrow(/refer to transaction -1, which does not exist/);
    await expect(raw([5n, -5n], { account: 'customer:nobody-at-all' })).rejects.toThrow(/refer to account customer:nobody-at-all, which does not exist/);
    await expect(raw([5n, -5n], { asset: 'XAU' })).rejects.toThrow(/are in asset XAU, which does not exist/);
    // One bad row among good ones refuses the whole statement.
    await expect(raw([5n, -5n], { account: 'customer:nobody-at-all', onlyLast: true })).rejects.toThrow(/refer to account customer:nobody-at-all/);
    expect(await entries()).toBe(before);
  });

  it('never deletes, truncates or re-keys the accounts and assets the journal refers to', async () => {
    await raw([3n, -3n]);
    await expect(db.query(`DELETE FROM billing.accounts WHERE account_id = 'platform:grants'`)).rejects.toThrow(/refers to these rows by key: DELETE refused/);
    await expect(db.query(`UPDATE billing.accounts SET account_id = 'platform:renamed' WHERE account_id = 'platform:grants'`)).rejects.toThrow(/UPDATE refused/);
    await expect(db.query(`TRUNCATE billing.accounts CASCADE`)).rejects.toThrow(/refused/);
    await expect(db.query(`DELETE FROM billing.assets WHERE code = 'USD'`)).rejects.toThrow(/DELETE refused/);
    await expect(db.query(`UPDATE billing.assets SET code = 'USX' WHERE code = 'USD'`)).rejects.toThrow(/UPDATE refused/);
    // Updates that keep the key go through: the held amount and the credit limit move all the time.
    await db.query(`UPDATE billing.accounts SET credit_limit = credit_limit WHERE account_id = 'platform:grants'`);
    expect(await db.query(`SELECT count(*)::int AS n FROM billing.accounts WHERE account_id = 'platform:grants'`)).toEqual([{ n: 1 }]);
  });

  it('refuses UPDATE, DELETE and TRUNCATE on the journal', async () => {
    for (const table of ['entries', 'transactions']) {
      await expect(db.query(`UPDATE billing.${table} SET posted_at = now()`)).rejects.toThrow(/append-only/);
      await expect(db.query(`DELETE FROM billing.${table}`)).rejects.toThrow(/append-only/);
      await expect(db.query(`TRUNCATE billing.${table} CASCADE`)).rejects.toThrow(/append-only/);
    }
  });

  /** A usage event of one GPU-hour at $2.00 (no energy) on its own allocation, and how it is posted. */
  const usageOf = (customer: string, provider: string, jobId = randomUUID()) => {
    const allocation: AllocationPrices = { allocation_id: `${jobId}.1`, job_id: jobId, customer_id: customer, provider_id: provider, instrument: 'gpu:h100', compute_nano_usd: '2000000000', energy_nano_usd: '0' };
    const usage = usageEvent(allocation, randomUUID(), 3_600);
    const post = (u = usage) => db.transaction((m) => postUsages(m, [{ usage: u, allocation }], 200));
    const tx = usageTransaction({ ...usage, consumed: consumedOf(usage), computeNanoUsd: 2_000_000_000n, energyNanoUsd: 0n, feeBps: 200 });
    return { usage, post, tx };
  };

  it('posts a transaction once, moves balances with it, records the same key with another body as a conflict, and reverses it once', async () => {
    const customer = `c-${randomUUID().slice(0, 8)}`;
    const provider = `p-${randomUUID().slice(0, 8)}`;
    const post = (tx: LedgerTransaction) => db.transaction((m) => postTransaction(m, tx, 'test'));
    const topUp = topUpTransaction(randomUUID(), customer, 10_000_000_000n);
    expect(await post(topUp)).toMatchObject({ kind: 'posted' });
    expect(await post(topUp)).toMatchObject({ kind: 'duplicate' });
    const tampered = { ...topUp, lines: topUp.lines.map((l) => ({ ...l, amount: l.amount * 2n })) };
    expect(await post(tampered)).toEqual({ kind: 'conflict' });
    expect(await db.query(`SELECT count(*)::int AS n FROM billing.posting_conflicts WHERE idempotency_key = $1`, [topUp.key])).toEqual([{ n: 1 }]);

    // Usage goes through its sub-ledger: once, a redelivery a duplicate, another body a conflict.
    const usage = usageOf(customer, provider);
    expect((await usage.post()).map((o) => o.kind)).toEqual(['posted']);
    expect((await usage.post()).map((o) => o.kind)).toEqual(['duplicate']);
    expect((await usage.post({ ...usage.usage, gpuSeconds: '7200' })).map((o) => o.kind)).toEqual(['conflict']);
    expect(await db.query(`SELECT count(*)::int AS n FROM billing.posting_conflicts WHERE idempotency_key = $1`, [usage.tx.key])).toEqual([{ n: 1 }]);
    // $10 in, $2.00 + 2% fee out.
    expect(await balance(Accounts.customer(customer))).toBe(-10_000_000_000n + 2_040_000_000n);
    expect(await balance(Accounts.provider(provider))).toBe(-2_000_000_000n);

    // A reversal references its original, and only one may.
    expect(await post(reversalOf(usage.tx))).toMatchObject({ kind: 'posted' });
    expect(await balance(Accounts.provider(provider))).toBe(0n);
    const second = { ...reversalOf(usage.tx), key: `reversal-again:${usage.tx.key}` };
    await expect(post(second)).rejects.toThrow(/transactions_reverses_unique/);
  });

  it('refuses at commit a usage transaction that posts no usage event', async () => {
    const { tx } = usageOf(`c-${randomUUID().slice(0, 8)}`, `p-${randomUUID().slice(0, 8)}`);
    await expect(db.transaction((m) => postTransaction(m, tx, 'test'))).rejects.toThrow(/posts no usage event/);
    expect(await db.query(`SELECT count(*)::int AS n FROM billing.transactions WHERE idempotency_key = $1`, [tx.key])).toEqual([{ n: 0 }]);
  });

  it("keeps a transaction's reference columns equal to its refs, which finance filters the entries by", async () => {
    const customer = `c-${randomUUID().slice(0, 8)}`;
    const provider = `p-${randomUUID().slice(0, 8)}`;
    const jobId = randomUUID();
    const usage = usageOf(customer, provider, jobId);
    await usage.post();
    expect(await db.query(`SELECT customer_id, provider_id, job_id FROM billing.transactions WHERE idempotency_key = $1`, [usage.tx.key])).toEqual([{ customer_id: customer, provider_id: provider, job_id: jobId }]);
    // Through the finance view, by each filter: every entry of the usage, from the transaction's columns.
    const lines = usage.tx.lines.length;
    expect(lines).toBeGreaterThanOrEqual(4);
    for (const [column, value] of [['customer_id', customer], ['provider_id', provider], ['job_id', jobId]] as const) {
      expect(await db.query(`SELECT count(*)::int AS n FROM gateway.billing_entries WHERE ${column} = $1`, [value])).toEqual([{ n: lines }]);
    }
    // A row whose columns say something else than its refs is refused.
    await expect(
      db.query(`INSERT INTO billing.transactions (idempotency_key, request_hash, kind, refs, customer_id) VALUES ($1, 'h', 'grant', $2, 'someone-else')`, [randomUUID(), JSON.stringify({ customerId: customer })]),
    ).rejects.toThrow(/transactions_refs_columns_check/);
    await expect(db.query(`INSERT INTO billing.transactions (idempotency_key, request_hash, kind, refs) VALUES ($1, 'h', 'grant', $2)`, [randomUUID(), JSON.stringify({ customerId: customer })])).rejects.toThrow(
      /transactions_refs_columns_check/,
    );
  });

  it('resolves a hold once, and never deletes one', async () => {
    const id = randomUUID();
    await db.query(`INSERT INTO billing.holds (hold_id, customer_id, amount, status) VALUES ($1, 'c', 100, 'open')`, [id]);
    await db.query(`UPDATE billing.holds SET status = 'settled', captured = 90 WHERE hold_id = $1`, [id]);
    await expect(db.query(`UPDATE billing.holds SET status = 'voided' WHERE hold_id = $1`, [id])).rejects.toThrow(/already settled/);
    await expect(db.query(`DELETE FROM billing.holds WHERE hold_id = $1`, [id])).rejects.toThrow(/never deleted/);
    const [row] = await db.query(`SELECT status, captured, resolved_at FROM billing.holds WHERE hold_id = $1`, [id]);
    expect(row).toMatchObject({ status: 'settled', captured: '90' });
    expect(row.resolved_at).toBeInstanceOf(Date);
  });
});
