import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { DataSource } from 'typeorm';
import type { UsageMetered } from '#contracts';
import { Accounts, topUpTransaction } from '#ledger';
import { createDataSource } from '#persistence';
import { loadConfig } from '#platform';
import { postTransaction } from '../journal/journal.writer.js';
import { postUsages, type AllocationPrices } from './usage-posting.js';

/** The usage sub-ledger on the real PostgreSQL: batches per allocation, dedupe per event, the database's rules. */
describe('usage sub-ledger (PostgreSQL)', () => {
  let db: DataSource;

  beforeAll(async () => {
    db = await createDataSource(loadConfig(), { applicationName: 'usage-posting-int-spec', entities: [] }).initialize();
  });

  afterAll(async () => {
    await db?.destroy();
  });

  const customer = `c-${randomUUID().slice(0, 8)}`;
  const allocation = (n: number): AllocationPrices => ({
    allocation_id: `${customer}-a${n}`,
    job_id: `${customer}-j${n}`,
    customer_id: customer,
    provider_id: 'p-sub',
    instrument: 'gpu:h100',
    compute_nano_usd: '2000000000',
    energy_nano_usd: '100000000',
  });
  const usage = (a: AllocationPrices, i: number, seconds: number): UsageMetered => ({
    usageId: `${a.allocation_id}:${i}`,
    allocationId: a.allocation_id,
    jobId: a.job_id,
    customerId: a.customer_id,
    providerId: a.provider_id,
    instrument: a.instrument,
    inputTokens: null,
    outputTokens: null,
    gpuSeconds: String(seconds),
    energyKwh: null,
    startedAt: '2026-11-27T09:00:00.000Z',
    endedAt: '2026-11-27T09:10:00.000Z',
  });
  const post = (items: { usage: UsageMetered; allocation: AllocationPrices }[]) => db.transaction((m) => postUsages(m, items, 200));
  const sql = <T>(text: string, params: unknown[] = []): Promise<T[]> => db.query(text, params);

  it("posts one allocation's new usage as one transaction, each event once beside it; a replay posts nothing", async () => {
    const a1 = allocation(1);
    const a2 = allocation(2);
    await db.transaction((m) => postTransaction(m, topUpTransaction(randomUUID(), customer, 100_000_000_000n), 'test'));
    // 1,801 s, 1,799 s and 7 s at $2.10/h + 2%: amounts that round, each on its own.
    const [u1, u2, u3] = [usage(a1, 0, 1_801), usage(a1, 1, 1_799), usage(a1, 2, 7)] as [UsageMetered, UsageMetered, UsageMetered];
    const v1 = usage(a2, 0, 3_600);
    const items = [
      { usage: u1, allocation: a1 },
      { usage: v1, allocation: a2 },
      { usage: u2, allocation: a1 },
      { usage: u1, allocation: a1 },
      { usage: { ...u2, gpuSeconds: '9' }, allocation: a1 },
      { usage: u3, allocation: a1 },
    ];
    const outcomes = await post(items);
    expect(outcomes.map((o) => o.kind)).toEqual(['posted', 'posted', 'posted', 'duplicate', 'conflict', 'posted']);
    const tx = (i: number) => (outcomes[i] as { txId: string }).txId;
    expect([tx(2), tx(3), tx(5)]).toEqual([tx(0), tx(0), tx(0)]);
    expect(tx(1)).not.toBe(tx(0));

    const rows = await sql<{ usage_id: string; tx_id: string; compute_nano_usd: string; energy_nano_usd: string; fee_nano_usd: string }>(
      `SELECT usage_id, tx_id, compute_nano_usd, energy_nano_usd, fee_nano_usd FROM billing.usage_postings WHERE usage_id = ANY($1) ORDER BY usage_id`,
      [[u1.usageId, u2.usageId, u3.usageId, v1.usageId]],
    );
    // 1,801 s × $2.00/h = 1.000555555… → 1000555556 (half-even), and so on for each event alone.
    expect(rows.map((r) => [r.usage_id, r.tx_id, r.compute_nano_usd, r.energy_nano_usd, r.fee_nano_usd])).toEqual([
      [u1.usageId, tx(0), '1000555556', '50027778', '21011667'],
      [u2.usageId, tx(0), '999444444', '49972222', '20988333'],
      [u3.usageId, tx(0), '3888889', '194444', '81667'],
      [v1.usageId, tx(1), '2000000000', '100000000', '42000000'],
    ]);
    const lines = await sql<{ idempotency_key: string; account_id: string; kind: string; amount: string }>(
      `SELECT t.idempotency_key, e.account_id, e.kind, e.amount FROM billing.entries e JOIN billing.transactions t USING (tx_id) WHERE t.tx_id = $1 ORDER BY e.entry_id`,
      [tx(0)],
    );
    expect(lines.map((l) => [l.account_id, l.kind, l.amount])).toEqual([
      [Accounts.customer(customer), 'compute', String(1000555556 + 999444444 + 3888889)],
      [Accounts.customer(customer), 'energy', String(50027778 + 49972222 + 194444)],
      [Accounts.customer(customer), 'fee', String(21011667 + 20988333 + 81667)],
      ['provider:p-sub', 'compute', String(-(1000555556 + 999444444 + 3888889))],
      ['provider:p-sub', 'energy', String(-(50027778 + 49972222 + 194444))],
      [Accounts.fees, 'fee', String(-(21011667 + 20988333 + 81667))],
    ]);
    expect(lines[0]?.idempotency_key).toBe(`usage:${u1.usageId}+2`);
    expect(await sql(`SELECT count(*)::int AS n FROM billing.posting_conflicts WHERE idempotency_key = $1`, [`usage:${u2.usageId}`])).toEqual([{ n: 1 }]);

    const journal = async () => (await sql<{ n: number }>(`SELECT count(*)::int AS n FROM billing.transactions WHERE customer_id = $1`, [customer]))[0]?.n;
    const before = await journal();
    // A replay of the whole batch, in another order: duplicates in the transactions they were posted in, the twin a conflict again.
    const again = await post([...items].reverse());
    expect(again.map((o) => o.kind)).toEqual(['duplicate', 'conflict', 'duplicate', 'duplicate', 'duplicate', 'duplicate']);
    expect(again.map((o) => (o.kind === 'conflict' ? null : o.txId))).toEqual([tx(0), null, tx(0), tx(0), tx(1), tx(0)]);
    expect(await journal()).toBe(before);
  });

  it('refuses usage rows that are not their transaction’s, do not sum to it, or are changed', async () => {
    const a = allocation(3);
    const [posted] = await post([{ usage: usage(a, 0, 60), allocation: a }]);
    const txId = (posted as { txId: string }).txId;
    const row = (tx: string, id = randomUUID(), compute = 1) =>
      `INSERT INTO billing.usage_postings (usage_id, tx_id, compute_nano_usd, energy_nano_usd, fee_nano_usd) VALUES ('${id}', ${tx}, ${compute}, 0, 0)`;
    await expect(sql(row(txId))).rejects.toThrow(/never added to one already posted/);
    await expect(sql(row('-1'))).rejects.toThrow(/does not exist/);
    for (const statement of [`UPDATE billing.usage_postings SET fee_nano_usd = 0`, `DELETE FROM billing.usage_postings`, `TRUNCATE billing.usage_postings`]) {
      await expect(sql(statement)).rejects.toThrow(/append-only/);
    }

    // Written with its own transaction, but not the sum of its lines, or on a transaction that is not usage.
    const inOne = async (kind: 'usage' | 'grant', compute: number) => {
      const runner = db.createQueryRunner();
      await runner.connect();
      try {
        await runner.startTransaction();
        const refs = kind === 'usage' ? { customerId: customer, providerId: 'p-sub', jobId: a.job_id, allocationId: a.allocation_id } : {};
        const [{ tx_id }] = (await runner.query(
          `INSERT INTO billing.transactions (idempotency_key, request_hash, kind, refs, customer_id, provider_id, job_id, invoice_id)
           SELECT $1, 'h', $2, $3::jsonb, $3::jsonb->>'customerId', $3::jsonb->>'providerId', $3::jsonb->>'jobId', CASE WHEN $2 = 'usage' THEN invoice_id END
             FROM billing.transactions WHERE tx_id = $4 RETURNING tx_id`,
          [randomUUID(), kind, JSON.stringify(refs), txId],
        )) as [{ tx_id: string }];
        const account = kind === 'usage' ? Accounts.customer(customer) : 'platform:grants';
        await runner.query(`INSERT INTO billing.entries (tx_id, account_id, asset, amount, kind) VALUES ($1, $2, 'USD', 10, 'compute'), ($1, $3, 'USD', -10, 'compute')`, [tx_id, account, Accounts.fees]);
        await runner.query(row(tx_id, randomUUID(), compute));
        await runner.commitTransaction();
      } finally {
        if (runner.isTransactionActive) await runner.rollbackTransaction();
        await runner.release();
      }
    };
    await expect(inOne('usage', 11)).rejects.toThrow(/sums to compute 11, energy 0, fee 0; its customer lines to 10, 0, 0/);
    await expect(inOne('grant', 10)).rejects.toThrow(/is a grant, not usage/);
    await inOne('usage', 10);
  });
});
