import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import type { DataSource } from 'typeorm';
import type { UsageMetered } from '#contracts';
import { Accounts, topUpTransaction, usageAmounts } from '#ledger';
import { createDataSource } from '#persistence';
import { loadConfig } from '#platform';
import { postTransaction } from '../journal/journal.writer.js';
import { usageEvent } from './usage-event.fixture.js';
import { consumedOf, postUsages, type AllocationPrices } from './usage-posting.js';

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
  const usage = (a: AllocationPrices, i: number, seconds: number): UsageMetered => usageEvent(a, `${a.allocation_id}:${i}`, seconds);
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

  it('property: any stream of usage, with duplicates, reordered and cut into any batches, posts each event once: the reference balances, every transaction zero-sum', async () => {
    const event = fc.record({ allocation: fc.nat({ max: 3 }), index: fc.nat({ max: 30 }), seconds: fc.integer({ min: 0, max: 40_000 }) });
    await fc.assert(
      fc.asyncProperty(fc.array(event, { minLength: 1, maxLength: 60 }), fc.array(fc.nat(), { maxLength: 20 }), fc.array(fc.integer({ min: 1, max: 25 }), { minLength: 1, maxLength: 10 }), async (events, dupIdx, cuts) => {
        const run = randomUUID().slice(0, 8);
        const allocations = [0, 1, 2, 3].map((n) => ({ ...allocation(n), allocation_id: `${run}-a${n}`, job_id: `${run}-j${n}`, customer_id: `${run}-c${n % 2}`, energy_nano_usd: n === 3 ? '-40000000' : '100000000' }));
        // One body per usage id (the first), as a producer sends it; then redeliveries, then all reversed.
        const byId = new Map<string, { usage: UsageMetered; allocation: AllocationPrices }>();
        for (const e of events) {
          const a = allocations[e.allocation] as AllocationPrices;
          const u = usage(a, e.index, e.seconds);
          if (!byId.has(u.usageId)) byId.set(u.usageId, { usage: u, allocation: a });
        }
        const unique = [...byId.values()];
        const stream = [...unique, ...dupIdx.map((i) => unique[i % unique.length] as (typeof unique)[number])].reverse();
        for (let at = 0, c = 0; at < stream.length; c += 1) {
          const size = cuts[c % cuts.length] as number;
          const outcomes = await post(stream.slice(at, at + size));
          expect(outcomes.every((o) => o.kind !== 'conflict')).toBe(true);
          at += size;
        }
        for (const customerId of [`${run}-c0`, `${run}-c1`]) {
          const expected = unique
            .filter((x) => x.usage.customerId === customerId)
            .reduce((sum, x) => {
              const a = usageAmounts({ ...x.usage, consumed: consumedOf(x.usage), computeNanoUsd: BigInt(x.allocation.compute_nano_usd), energyNanoUsd: BigInt(x.allocation.energy_nano_usd), feeBps: 200 });
              return sum + a.compute + a.energy + a.fee;
            }, 0n);
          const [row] = await sql<{ balance: string }>(`SELECT coalesce(sum(balance), 0)::text AS balance FROM billing.balances WHERE account_id = $1`, [Accounts.customer(customerId)]);
          expect(BigInt(row?.balance ?? '0')).toBe(expected);
        }
        const ids = unique.map((x) => x.usage.usageId);
        expect(await sql(`SELECT count(*)::int AS n FROM billing.usage_postings WHERE usage_id = ANY($1)`, [ids])).toEqual([{ n: unique.length }]);
        expect(
          await sql(`SELECT e.tx_id FROM billing.entries e JOIN billing.usage_postings u USING (tx_id) WHERE u.usage_id = ANY($1) GROUP BY e.tx_id, e.asset HAVING sum(e.amount) <> 0`, [ids]),
        ).toEqual([]);
      }),
      { numRuns: 25 },
    );
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
